"""`sluice init` then `sluice run` on a generated CSV, then `sluice predict` on raw rows:
a user's own table to a served model with no edit, from a project outside this repository."""

import os
import re
import subprocess

import pytest

from tests.helpers import ROOT, SLUICE
from tests.sluice.generated_table import write_trips

pytestmark = pytest.mark.e2e
# Tiny: every stage runs for real, in seconds each.
FAST = ("-o", "tuner.max_trials=1", "-o", "tuner.trial_steps=10", "-o", "trainer.train_steps=20",
        "-o", "trainer.ensemble_size=1", "-o", 'tuner.families=["dnn"]')


def test_init_run_predict_on_a_table_with_a_header_missing_values_and_a_timestamp(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    data = write_trips(project / "trips.csv", rows=300)
    # The user's project, not this repository, is the working directory and holds the pipeline.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLUICE_HOME": str(tmp_path / "home")}

    def sluice(*args):
        return subprocess.run([SLUICE, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600)

    init = sluice("init", "trips", "--data", str(data), "--label", "tipped")
    assert init.returncode == 0, init.stderr[-3000:]
    assert re.search(r"start_time\s+timestamp", init.stdout) and re.search(r"area_code\s+integer_category", init.stdout)
    assert (project / "pipelines" / "trips" / "pipeline.py").exists()

    run = sluice("run", "trips", *FAST)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "Pushed SavedModel" in run.stdout

    predicted = sluice("predict", "trips", "--csv", str(data), "--rows", "3")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    probabilities = [float(p) for p in re.findall(r"P\(tipped = 1\) = ([0-9.]+)", predicted.stdout)]
    assert len(probabilities) == 3 and all(0 <= p <= 1 for p in probabilities)
