"""A declaration becomes the standard pipeline and its settings."""

import dataclasses

import pytest

from components.standard_pipeline import Declaration
from sluice.config import ConfigError, apply_overrides
from sluice.pipeline import load_object

COLUMNS = {"amount": "float", "shop": "string", "when": "string", "fraud": "int"}


def declared(**changes) -> Declaration:
    fields = dict(
        name="toy_fraud",
        label="fraud",
        columns=COLUMNS,
        preprocessing_fn="tests.components.test_standard_pipeline:declared",
        data={"train_file": "/data/fraud.csv"},
        positive_label=1,
    )
    return Declaration(**{**fields, **changes})


def test_one_file_is_split_three_ways_when_no_test_file_is_declared():
    config = declared().config(home="/h")
    example_gen = declared().create_pipeline(config).component("example_gen")
    assert [(s["pattern"], s["splits"]) for s in example_gen.params["sources"]] == [
        ("/data/fraud.csv", {"train": 80, "eval": 10, "test": 10})
    ]
    assert example_gen.params["format"]["header"] is True


def test_a_test_file_holds_the_test_split():
    config = declared(data={"train_file": "/d/train.csv", "test_file": "/d/test.csv", "eval_percent": 20}).config(home="/h")
    sources = declared().create_pipeline(config).component("example_gen").params["sources"]
    assert [(s["pattern"], s["splits"]) for s in sources] == [("/d/train.csv", {"train": 80, "eval": 20}), ("/d/test.csv", {"test": 100})]


def test_the_settings_carry_the_declared_defaults_and_take_overrides():
    declaration = declared(settings={"tuner": {"max_trials": 3}, "min_accuracy": 0.7})
    config = declaration.config(home="/h")
    assert (config.tuner.max_trials, config.min_accuracy, config.trainer.train_steps) == (3, 0.7, 2000)
    config = apply_overrides(config, ["tuner.max_trials=1", "data.split=stratified"])
    pipeline = declaration.create_pipeline(config)
    assert pipeline.component("tuner").params["max_trials"] == 1
    assert pipeline.component("example_gen").params["stratify_by"] == "fraud"
    with pytest.raises(ConfigError, match="no setting 'tuner.trials'"):
        apply_overrides(config, ["tuner.trials=1"])


def test_a_bad_default_or_format_fails_when_declared():
    with pytest.raises(ValueError, match="min_accuracy"):
        declared(settings={"min_accuracy": 2}).config
    with pytest.raises(ValueError, match="no setting 'tunr'"):
        declared(settings={"tunr": {}}).config
    with pytest.raises(ValueError, match="type 'text'"):
        declared(columns={"a": "text"})
    with pytest.raises(ValueError, match="task 'ranking'"):
        declared(task="ranking")
    with pytest.raises(ValueError, match="split"):
        declared(data={"train_file": "/d.csv", "split": "time"}).config(home="/h")


def test_the_task_reaches_each_component_that_takes_one():
    pipeline = declared(task="regression").create_pipeline(declared().config(home="/h"))
    for name in ("tuner", "trainer", "evaluator"):
        component = pipeline.component(name)
        takes_task = "task" in {f.name for f in dataclasses.fields(component.load_spec().params)}
        assert ("task" in component.params) == takes_task
        assert component.params.get("task", "regression") == "regression"


def test_the_contract_is_what_the_cli_and_the_dag_read():
    contract = declared(doc="Fraud, declared.").contract()
    assert (contract.NAME, contract.LABEL_KEY, contract.POSITIVE_LABEL, contract.__doc__) == ("toy_fraud", "fraud", 1, "Fraud, declared.")
    config = contract.Config(home="/h")
    assert contract.sample_rows_file(config) == "/data/fraud.csv"
    transform = contract.create_pipeline(config).component("transform")
    assert load_object(transform.params["preprocessing_fn"]) is declared
