import dataclasses
import json

import pytest

from pipelines.census.pipeline import CensusConfig, create_pipeline
from sluice.beam.jobs import complete_beam_args
from sluice.config import apply_overrides
from sluice.pipeline import Component, Pipeline, PipelineError


def window_features(name):
    return Component(name, "components.window_features:SPEC", params={"events": "events.csv", "size_seconds": 10})


def test_inputs_must_name_earlier_components():
    with pytest.raises(PipelineError, match="not an earlier component"):
        Pipeline("p", (Component("b", "components.statistics_gen:SPEC", {"examples": "a"}), window_features("a")))


def test_component_names_are_unique():
    with pytest.raises(PipelineError, match="used twice"):
        Pipeline("p", (window_features("a"), window_features("a")))


def test_component_survives_json_with_column_order():
    census = create_pipeline(CensusConfig(home="/nonexistent"))
    example_gen = census.component("example_gen")
    again = Component(**json.loads(json.dumps(dataclasses.asdict(example_gen))))
    assert again == example_gen
    assert [name for name, _ in again.params["format"]["columns"]][:3] == ["age", "workclass", "fnlwgt"]


def test_census_wiring_is_the_component_chain():
    census = create_pipeline(CensusConfig(home="/nonexistent"))
    assert [c.name for c in census.components] == [
        "example_gen", "statistics_gen", "schema_gen", "example_validator", "skew_validator",
        "transform", "tuner", "trainer", "compact_export", "evaluator", "pusher",
    ]
    assert ("example_validator", "transform") in census.edges()
    assert ("evaluator", "pusher") in census.edges()


def test_overrides_set_typed_values_and_reject_unknown_settings():
    config = apply_overrides(CensusConfig(home="/h"), ["trainer.train_steps=500", "tuner.max_trials=0", "min_accuracy=0.5"])
    assert config.trainer.train_steps == 500 and config.tuner.max_trials == 0 and config.min_accuracy == 0.5
    with pytest.raises(ValueError, match="no setting 'trainer.steps'"):
        apply_overrides(config, ["trainer.steps=1"])
    with pytest.raises(ValueError, match="train_steps"):
        apply_overrides(config, ["trainer.train_steps=many"])


@pytest.mark.parametrize(
    "given, expected",
    [
        ([], ["--runner=DirectRunner", "--direct_running_mode=in_memory"]),
        (["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
         ["--direct_running_mode=multi_processing", "--direct_num_workers=2", "--runner=DirectRunner"]),
        (["--runner=DataflowRunner", "--project=p"], ["--runner=DataflowRunner", "--project=p"]),
    ],
)
def test_beam_args_make_runner_and_running_mode_explicit(given, expected):
    assert complete_beam_args(given) == expected


def test_run_ids_sort_as_runs_began():
    from sluice.runner import new_run_id

    ids = [new_run_id() for _ in range(2000)]  # many within one second: the fraction orders them
    assert ids == sorted(ids) and len(set(ids)) > 1
