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
    with TrialProcess(trials_per_process=3) as trials:
        died = trials.run(_request(transform, seed=1, model_fn="tests.components.test_trial_process:dies"))
        assert "exit code 3" in died["error"] and not trials.running
        fresh = trials.run(_request(transform, seed=2))  # the first trial of a new process
        other = trials.run(_request(transform, seed=1))
        assert trials.running
        after_others = trials.run(_request(transform, seed=2))
        assert not trials.running  # its quota of three trials served, the process ended
        assert trials.processes_started == 2
    assert all("error" not in r for r in (fresh, other, after_others)), (fresh, other, after_others)
    assert after_others["metrics"] == fresh["metrics"]
    assert other["metrics"] != fresh["metrics"]  # the seeds matter, so the equality above says something
