"""What `sluice init` gives the search: steps and protocol sized to the rows, the families
that fit the columns, and every family's defaults tried first."""

import numpy as np
import pandas as pd

from sluice.scaffold import init_pipeline
from tests.sluice.generated_table import write_trips


def _config_and_families(scaffold, monkeypatch, tmp_path):
    """The written pipeline's settings, as the registry loads them, and its space's families
    (each test names its pipeline apart: the registry keeps one module per name)."""
    import keras_tuner as kt

    import sluice.user_pipelines
    from sluice.pipeline import load_object
    from sluice.registry import PIPELINES_ENV, pipeline_module

    monkeypatch.setenv(PIPELINES_ENV, str(scaffold.directory.parent))
    monkeypatch.setattr(sluice.user_pipelines, "__path__", [str(scaffold.directory.parent)])
    module = pipeline_module(scaffold.directory.name)
    hp = kt.HyperParameters()
    load_object(f"sluice.user_pipelines.{scaffold.directory.name}.model:search_space")(hp)
    config = module.Config(home=str(tmp_path / "home"))
    tuner = module.create_pipeline(config).component("tuner").params
    # a trial's network trains and stops as the Trainer's will
    assert (tuner["eval_every_steps"], tuner["early_stopping_patience"]) == (config.trainer.eval_every_steps, config.trainer.early_stopping_patience)
    return config, list(hp.space[0].values)


def test_small_numeric_data_gets_cross_validated_full_length_trials_without_wide_deep(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = (frame.a + frame.b > 0).astype(int)
    frame.to_csv(tmp_path / "small.csv", index=False)

    config, families = _config_and_families(init_pipeline("budget_small", str(tmp_path / "small.csv"), "y", directory=str(tmp_path / "p")), monkeypatch, tmp_path)
    assert (config.tuner.trial_steps, config.tuner.folds, config.tuner.defaults_first) == (config.trainer.train_steps, 5, True)
    assert config.trainer.early_stopping_patience == 0
    assert families == ["linear", "dnn", "gradient_boosted_trees", "random_forest"]


def test_large_data_with_categories_keeps_holdout_shorter_trials_and_every_family(tmp_path, monkeypatch):
    trips = write_trips(tmp_path / "trips.csv", rows=6000)
    config, families = _config_and_families(init_pipeline("budget_trips", str(trips), "tipped", directory=str(tmp_path / "p")), monkeypatch, tmp_path)
    assert (config.tuner.trial_steps, config.tuner.folds, config.tuner.defaults_first) == (config.trainer.train_steps // 4, 1, True)
    assert config.trainer.early_stopping_patience > 0
    assert families == ["linear", "dnn", "wide_deep", "gradient_boosted_trees", "random_forest"]
