"""A table whose label is missing in some rows: `sluice init` says how many, and the pipeline
it writes rejects exactly those rows at ExampleGen (listed, counted) and reads the rest."""

import json

import numpy as np
import pandas as pd
import pytest

from sluice.artifacts import read_artifact
from sluice.execute import execute
from sluice.scaffold import init_pipeline
from tests.sluice.test_init_search_budget import _config_and_families


@pytest.mark.beam
def test_rows_without_a_label_are_counted_by_init_and_rejected_by_the_pipeline(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40).round(3), "kind": rng.choice(["a", "b", "c"], size=40)})
    frame["species"] = np.where(frame.x > 0.5, "tall", np.where(frame.x < -0.5, "short", "mid"))
    frame.loc[[5, 17], "species"] = None  # two rows without a label
    frame.to_csv(tmp_path / "animals.csv", index=False)

    scaffold = init_pipeline("unlabelled_rows", str(tmp_path / "animals.csv"), "species", directory=str(tmp_path / "p"))
    assert "2 rows without a label are rejected" in scaffold.label.reason
    config, _ = _config_and_families(scaffold, monkeypatch, tmp_path)
    assert config.data.max_reject_fraction == 0.05  # those two of 40, and no more

    from sluice.registry import pipeline_module

    example_gen = pipeline_module("unlabelled_rows").create_pipeline(config).component("example_gen")
    artifact = read_artifact(execute(example_gen, tmp_path / "run", {}).uri)
    assert artifact.properties["rows"] == {"read": 40, "written": 38, "rejected": 2}
    rejects = [json.loads(line) for line in open(artifact.file("rejects.jsonl"))]
    assert [(r["row"], r["column"]) for r in rejects] == [(7, "species"), (19, "species")]  # file rows: a header, then data
