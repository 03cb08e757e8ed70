"""The full census run, as `make demo` does it: all 48,842 rows, default settings."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

SLUICE = str(Path(sys.executable).parent / "sluice")


@pytest.mark.slow
def test_full_census_run_pushes_a_model_over_084_and_serves_raw_rows(tmp_path):
    run = subprocess.run([SLUICE, "run", "census", "--home", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]

    (run_dir,) = (tmp_path / "artifacts" / "census").iterdir()
    record = lambda component: json.loads((run_dir / component / "artifact.json").read_text())["properties"]
    assert record("example_gen")["splits"]["test"]["rows"] == 16281
    splits = record("example_gen")["splits"]
    assert splits["train"]["rows"] + splits["eval"]["rows"] == 32561
    metrics = record("evaluator")["metrics"]
    assert metrics["examples"] == 16281 and metrics["accuracy"] >= 0.84
    pushed = record("pusher")
    assert pushed["pushed"] and Path(pushed["pushed_to"], "saved_model.pb").exists()
    assert f"accuracy={metrics['accuracy']:.4f}" in run.stdout and pushed["pushed_to"] in run.stdout

    predict = subprocess.run([SLUICE, "predict", "census", "--home", str(tmp_path), "--rows", "3"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert predict.returncode == 0, predict.stderr[-3000:]
    assert predict.stdout.count("P(income_bracket = >50K) = ") == 3
    assert f"Model: {pushed['pushed_to']}" in predict.stdout
