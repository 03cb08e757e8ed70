"""`sluice init` then `sluice run` on a generated CSV, then `sluice predict` on raw rows:
a user's own table to a served model with no edit, from a project outside this repository.
A binary label on a table with a place (latitude, longitude) split by time, and a
multiclass one."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, SLUICE
from tests.pipelines.task_types import write_csv
from tests.sluice.generated_table import write_trips

pytestmark = pytest.mark.e2e
# Tiny: every stage runs for real, in seconds each.
FAST = ("-o", "tuner.max_trials=1", "-o", "tuner.trial_steps=10", "-o", "trainer.train_steps=20",
        "-o", "trainer.ensemble_size=1", "-o", 'tuner.families=["dnn"]', "-o", "tuner.folds=1")


def _project(tmp_path: Path):
    """(the user's project directory, a `sluice` run there): the project, not this
    repository, is the working directory and holds the pipeline."""
    project = tmp_path / "project"
    project.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLUICE_HOME": str(tmp_path / "home")}

    def sluice(*args):
        return subprocess.run([SLUICE, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600)

    return project, sluice


def test_init_run_predict_on_a_table_with_a_header_missing_values_and_a_timestamp(tmp_path):
    project, sluice = _project(tmp_path)
    data = write_trips(project / "trips.csv", rows=300, location=True)

    init = sluice("init", "trips", "--data", str(data), "--label", "tipped", "--split", "time:start_time")
    assert init.returncode == 0, init.stderr[-3000:]
    assert re.search(r"start_time\s+timestamp", init.stdout) and re.search(r"area_code\s+integer_category", init.stdout)
    assert re.search(r"pickup_lat_x_pickup_lng\s+location_cross\s+latitude pickup_lat and longitude pickup_lng", init.stdout)
    assert re.search(r"split\s+by time: the earliest rows by start_time train", init.stdout)
    assert (project / "pipelines" / "trips" / "pipeline.py").exists()

    run = sluice("run", "trips", *FAST, "--run-id", "first")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "Pushed SavedModel" in run.stdout
    example_gen = json.loads((tmp_path / "home" / "artifacts" / "trips" / "first" / "example_gen" / "artifact.json").read_text())
    method = example_gen["properties"]["split_method"]
    assert method["method"] == "time" and [start["split"] for start in method["starts"]] == ["eval", "test"]
    assert {name: split["rows"] for name, split in example_gen["properties"]["splits"].items()} == {"train": 240, "eval": 30, "test": 30}

    predicted = sluice("predict", "trips", "--csv", str(data), "--rows", "3")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    probabilities = [float(p) for p in re.findall(r"P\(tipped = 1\) = ([0-9.]+)", predicted.stdout)]
    assert len(probabilities) == 3 and all(0 <= p <= 1 for p in probabilities)


def test_init_run_predict_on_a_multiclass_table(tmp_path):
    project, sluice = _project(tmp_path)
    data = write_csv(project / "species.csv", "multiclass", rows=300)

    init = sluice("init", "species", "--data", str(data), "--label", "species")
    assert init.returncode == 0, init.stderr[-3000:]
    assert re.search(r"species\s+label: 3 classes .*: multiclass", init.stdout) and re.search(r"split\s+stratified", init.stdout)

    run = sluice("run", "species", *FAST)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "Pushed SavedModel" in run.stdout and re.search(r"Compact export, single: saved_model .* acc ", run.stdout)

    predicted = sluice("predict", "species", "--csv", str(data), "--rows", "3")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    answers = re.findall(r"species = class (\d) \(P [0-9.]+; every class: 0: ([0-9.]+), 1: ([0-9.]+), 2: ([0-9.]+)\)", predicted.stdout)
    assert len(answers) == 3
    for best, *probabilities in answers:
        probabilities = [float(p) for p in probabilities]
        assert abs(sum(probabilities) - 1) < 1e-3 and probabilities[int(best)] == max(probabilities)
