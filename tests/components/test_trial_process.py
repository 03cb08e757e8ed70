"""Trials run one after another in a kept child process (`TrialProcess`): each scores as it
would in a fresh process, a trial that kills its process fails alone, and the process is
replaced after its quota of trials."""

import os

from components.tuner.trial import TrialProcess, TrialRequest

NETWORK = {"family": "dnn", "learning_rate": 0.003, "units": 32, "layers": 1, "embedding_dim": 4, "dropout": 0.1}
BUDGET = {"steps": 10, "batch_size": 64, "eval_every_steps": 5, "early_stopping_patience": 0}


def dies(values, features, seed):
    """A model function whose trial takes its process down with it."""
    os._exit(3)


def _request(transform_uri: str, seed: int, model_fn: str = "pipelines.census.model:build_model") -> TrialRequest:
    return TrialRequest(model_fn, transform_uri, "income_bracket", NETWORK, BUDGET, seed)


def test_trials_share_a_process_up_to_its_quota_score_as_in_a_fresh_one_and_a_dying_trial_fails_alone(artifact):
    transform = artifact("transform").uri
    with TrialProcess(trials_per_process=2) as trials:
        first, after_another = trials.run(_request(transform, seed=1)), trials.run(_request(transform, seed=2))
        assert trials.processes_started == 1
        died = trials.run(_request(transform, seed=1, model_fn="tests.components.test_trial_process:dies"))
        assert trials.processes_started == 2  # the quota of two trials was reached: a new process
        fresh = trials.run(_request(transform, seed=2))
        assert trials.processes_started == 3  # the one the dying trial took down was replaced
    assert "exit code 3" in died["error"]
    assert "error" not in after_another and "error" not in fresh, (after_another, fresh)
    assert after_another["metrics"] == fresh["metrics"]
    assert first["metrics"] != after_another["metrics"]  # the seeds matter, so the equality above says something
