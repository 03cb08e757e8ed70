"""The census run on all 48,842 rows, as a user runs it from the command line.

The model search is off (the space's defaults, Wide & Deep, 500 steps) so the test stays
within minutes; the searches themselves are tested on the sample. Beam steps run on
DirectRunner's multi_processing mode with two workers, as the README shows.
"""

import json
from pathlib import Path

import pytest

from tests.helpers import sluice

FULL_RUN = ("-o", "tuner.max_trials=0", "-o", "trainer.train_steps=500", "-o", "trainer.ensemble_size=1")
MULTI_PROCESSING = ("--direct_running_mode=multi_processing", "--direct_num_workers=2")


@pytest.mark.e2e
def test_full_census_run_pushes_a_model_over_084_and_serves_raw_rows(tmp_path):
    run = sluice("run", "census", "--home", str(tmp_path), *FULL_RUN, *MULTI_PROCESSING, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]

    (run_dir,) = (tmp_path / "artifacts" / "census").iterdir()
    record = lambda component: json.loads((run_dir / component / "artifact.json").read_text())["properties"]
    splits = record("example_gen")["splits"]
    assert splits["test"]["rows"] == 16281
    assert splits["train"]["rows"] + splits["eval"]["rows"] == 32561
    assert record("example_gen")["rows"] == {"read": 48842, "written": 48842, "rejected": 0}
    # Under multi_processing too, every Beam step got the options and saw exactly the rows ExampleGen wrote.
    for component in ("example_gen", "statistics_gen", "transform"):
        for arg in MULTI_PROCESSING:
            assert arg in record(component)["beam_args"]
    for split, info in splits.items():
        assert record("statistics_gen")["splits"][split]["num_examples"] == info["rows"]
        assert record("transform")["splits"][split]["rows"] == info["rows"]
    metrics = record("evaluator")["metrics"]
    assert metrics["examples"] == 16281 and metrics["accuracy"] >= 0.84
    pushed = record("pusher")
    assert pushed["pushed"] and Path(pushed["pushed_to"], "saved_model.pb").exists()
    assert f"accuracy={metrics['accuracy']:.4f}" in run.stdout and pushed["pushed_to"] in run.stdout

    predict = sluice("predict", "census", "--home", str(tmp_path), "--rows", "3")
    assert predict.returncode == 0, predict.stderr[-3000:]
    assert predict.stdout.count("P(income_bracket = >50K) = ") == 3
    assert f"Model: {pushed['pushed_to']}" in predict.stdout
