"""The Tuner's `defaults_first`: every family's defaults are proposed before the oracle's own points."""


def test_the_oracle_proposes_each_familys_defaults_first_then_its_own_points(tmp_path):
    from components.tuner.component import Params, default_values, make_oracle

    space = "pipelines.census.model:search_space"
    params = Params(space, "pipelines.census.model:build_model", "y", families=["linear", "random_forest"], max_trials=4, defaults_first=True)
    oracle = make_oracle(params, str(tmp_path))
    proposed = []
    for _ in range(3):
        trial = oracle.create_trial("t")
        proposed.append(dict(trial.hyperparameters.values))
        oracle.update_trial(trial.trial_id, {"log_loss": 0.5})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    oracle.save()
    assert proposed[:2] == [default_values(space, ["linear"]), default_values(space, ["random_forest"])]
    assert proposed[2] not in proposed[:2]
    resumed = make_oracle(params, str(tmp_path)).create_trial("t")
    assert dict(resumed.hyperparameters.values) not in proposed[:2]
