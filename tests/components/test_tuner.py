"""The model search: seeded oracles, resume after a kill, budgets, trial records, K-fold,
baselines, and the Evaluator's choice between the best model and the ensemble."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from components.tuner.component import Params, make_oracle
from sluice.pipeline import Component
from components.tuner.trial import TrialRequest, run_trial
from tests.helpers import ROOT

SPACE = "pipelines.census.model:search_space"
MODEL = "pipelines.census.model:build_model"


def proposals(oracle_name, seed, directory, count=6):
    """The values an oracle proposes, each trial scored by a fixed function of its values."""
    oracle = make_oracle(Params(SPACE, MODEL, "income_bracket", oracle=oracle_name, max_trials=count, seed=seed), str(directory))
    proposed = []
    for _ in range(count):
        trial = oracle.create_trial("test")
        if trial.status != "RUNNING":
            break
        values = dict(trial.hyperparameters.values)
        proposed.append(values)
        fake_loss = (len(json.dumps(values, sort_keys=True)) % 17) / 17 + 0.1
        oracle.update_trial(trial.trial_id, {"log_loss": fake_loss})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return proposed


@pytest.mark.parametrize("oracle_name", ["random", "bayesian", "hyperband"])
def test_one_seed_gives_one_sequence_of_proposals(oracle_name, tmp_path):
    first = proposals(oracle_name, 7, tmp_path / "a")
    assert len(first) >= 3
    assert proposals(oracle_name, 7, tmp_path / "b") == first
    assert proposals(oracle_name, 8, tmp_path / "c") != first


def tuner_component(**params):
    return Component(
        "tuner",
        "components.tuner.component:SPEC",
        {"transform": "transform"},
        {"search_space": SPACE, "model_fn": MODEL, "label": "income_bracket", "trial_steps": 5, "eval_every_steps": 5, **params},
    )


SEARCH_IN_CHILD = r"""
import dataclasses, json, sys
from sluice.execute import execute
from sluice.pipeline import Component
from sluice.process import exit_now
component = Component(**json.loads(sys.argv[1]))
execute(component, sys.argv[2], {"transform": sys.argv[3]})
exit_now(0)
"""


def completed_in_snapshot(run_dir):
    trials = run_dir.glob(".tuner.search/state/oracle/trial_*/trial.json")
    return [t for t in trials if json.loads(t.read_text())["status"] == "COMPLETED"]


def test_a_killed_search_resumes_without_redoing_finished_trials(artifact, tmp_path):
    import dataclasses

    from sluice.artifacts import read_artifact
    from sluice.execute import execute

    component = tuner_component(max_trials=2)
    run_dir = tmp_path / "run"
    transform = artifact("transform").uri
    child = subprocess.Popen(
        [sys.executable, "-c", SEARCH_IN_CHILD, json.dumps(dataclasses.asdict(component)), str(run_dir), transform], cwd=ROOT
    )
    deadline = time.monotonic() + 300
    while not completed_in_snapshot(run_dir) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()
    finished_before = {p.parent.name: json.loads(p.read_text()) for p in completed_in_snapshot(run_dir)}
    assert finished_before and not (run_dir / "tuner").exists()
    # A kill can leave keras-tuner's own files half written; the resume must not trip on them.
    for live_file in run_dir.glob(".tuner.search/live/oracle/**/*.json"):
        live_file.write_text(live_file.read_text()[: len(live_file.read_text()) // 2])

    tuner = read_artifact(execute(component, run_dir, {"transform": transform}).uri)
    assert tuner.properties["trials_restored"] == len(finished_before)
    assert tuner.properties["trials_run_now"] == 2 - len(finished_before) >= 1
    trials = {f"trial_{t['trial_id']}": t for t in json.loads((tuner.path / "trials.json").read_text())}
    assert len(trials) == 2 and all(t["status"] == "COMPLETED" for t in trials.values())
    for name, before in finished_before.items():
        assert trials[name]["score"] == pytest.approx(before["score"])
        assert trials[name]["hyperparameters"] == {k: v for k, v in before["hyperparameters"]["values"].items() if not k.startswith("tuner/")}
    assert not (run_dir / ".tuner.search").exists()  # moved into the artifact
    assert (tuner.path / "search" / "oracle" / "oracle.json").exists()


def test_the_time_budget_stops_the_search_after_the_running_trial(artifact, tmp_path):
    from sluice.artifacts import read_artifact
    from sluice.execute import execute

    tuner = read_artifact(execute(tuner_component(max_trials=5, max_minutes=0.001), tmp_path, {"transform": artifact("transform").uri}).uri)
    assert tuner.properties["trials"] == 1


def test_two_workers_run_trials_side_by_side_through_the_chief(artifact, tmp_path):
    from sluice.artifacts import read_artifact
    from sluice.execute import execute

    tuner = read_artifact(execute(tuner_component(max_trials=2, workers=2), tmp_path, {"transform": artifact("transform").uri}).uri)
    trials = json.loads((tuner.path / "trials.json").read_text())
    assert [t["trial_id"] for t in trials] == ["0", "1"]
    assert all(t["status"] == "COMPLETED" for t in trials)
    spans = sorted((t["started_at"], t["ended_at"]) for t in trials)
    assert any(later_start < earlier_end for (_, earlier_end), (later_start, _) in zip(spans, spans[1:]))
    assert tuner.properties["workers"] == 2


def test_every_trial_records_its_metrics_size_and_latency_beside_the_baselines(artifact):
    tuner = artifact("tuner")
    trials = json.loads((tuner.path / "trials.json").read_text())
    for trial in trials:
        assert trial["status"] == "COMPLETED"
        assert set(trial["metrics"]) >= {"log_loss", "accuracy", "auc"}
        assert trial["parameters"] > 0 and trial["latency_ms"] > 0 and trial["seconds"] > 0
    baselines = tuner.properties["baselines"]
    majority = baselines["majority_class"]
    # The intercept-only model predicts the majority class for every row.
    assert majority["accuracy"] == pytest.approx(max(majority["positive_rate"], 1 - majority["positive_rate"]))
    assert majority["auc"] == 0.5
    assert 0 < baselines["logistic_regression"]["log_loss"] < majority["log_loss"] * 1.5


def test_k_fold_scores_each_fold_on_rows_its_model_did_not_see(artifact):
    request = TrialRequest(
        MODEL, artifact("transform").uri, "income_bracket", {"family": "linear", "learning_rate": 0.01},
        {"steps": 10, "batch_size": 64, "eval_every_steps": 10, "early_stopping_patience": 0}, seed=1, folds=3,
    )
    record = run_trial(request)
    folds = record["folds"]
    assert len(folds) == 3
    assert sum(f["examples"] for f in folds) == artifact("transform").properties["splits"]["train"]["rows"]
    assert record["metrics"]["accuracy"] == pytest.approx(np.mean([f["accuracy"] for f in folds]))
    assert record["metrics"]["accuracy_std"] == pytest.approx(np.std([f["accuracy"] for f in folds]))


def test_evaluator_pushes_the_better_of_best_model_and_ensemble_on_eval(artifact):
    trainer, evaluation, pusher = artifact("trainer"), artifact("evaluator"), artifact("pusher")
    assert trainer.properties["ensemble_model"] == "ensemble_model"
    candidates = evaluation.properties["candidates"]
    assert set(candidates) == {"single", "ensemble"}
    better = min(candidates, key=lambda name: candidates[name]["eval"]["log_loss"])
    assert evaluation.properties["chosen"] == better
    assert evaluation.properties["metrics"] == candidates[better]["test"]
    assert pusher.properties["model"] == better
    assert os.path.exists(os.path.join(pusher.properties["pushed_to"], "saved_model.pb"))


def forest_space(hp) -> None:
    """A small space of decision forests only (each trains in one pass)."""
    hp.Choice("family", ["gradient_boosted_trees", "random_forest"])
    hp.Int("min_examples", 2, 10, default=5)
    hp.Int("gbt_num_trees", 10, 20, step=10, default=10)
    hp.Int("gbt_max_depth", 2, 4, default=3)
    hp.Float("gbt_shrinkage", 0.1, 0.3, default=0.1)
    hp.Float("gbt_subsample", 0.8, 1.0, step=0.2, default=1.0)
    hp.Int("rf_num_trees", 10, 20, step=10, default=10)
    hp.Int("rf_max_depth", 4, 8, step=4, default=4)


def test_the_trainer_reuses_the_forests_its_search_trained(artifact, tmp_path):
    from sluice.artifacts import read_artifact
    from sluice.execute import execute

    transform = artifact("transform").uri
    search = tuner_component(max_trials=2, search_space="tests.components.test_tuner:forest_space")
    tuner = read_artifact(execute(search, tmp_path, {"transform": transform}).uri)
    trials = {t["trial_id"]: t for t in json.loads((tuner.path / "trials.json").read_text())}
    assert sorted(p.name for p in (tuner.path / "search" / "models").iterdir()) == sorted(trials)

    trainer = Component(
        "trainer",
        "components.trainer:SPEC",
        {"transform": "transform", "hyperparameters": "tuner"},
        {"model_fn": MODEL, "label": "income_bracket", "ensemble_size": 2},
    )
    model = read_artifact(execute(trainer, tmp_path, {"transform": transform, "hyperparameters": tuner.uri}).uri)
    members = model.properties["members"]
    assert len(members) == 2
    for member in members:
        trial = next(t for t in trials.values() if t["hyperparameters"] == member["hyperparameters"])
        assert member["reused_from_search"] == str(tuner.path / "search" / "models" / trial["trial_id"])
        # The very model the trial scored: the same eval rows give the same loss.
        assert member["eval_metrics"]["log_loss"] == pytest.approx(trial["metrics"]["log_loss"], rel=1e-5)
    assert (model.path / "ensemble_model" / "saved_model.pb").exists()
