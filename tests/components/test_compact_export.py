"""CompactExport on a Trainer artifact: a Keras model gets float16 and int8 TFLite files
measured beside its SavedModel; an ensemble with a decision forest is listed as not
convertible, with the converter's reason; switched off, it converts nothing."""

import json
from pathlib import Path

import pytest

from components.compact_export import CompactModels, summary
from components.trainer import Model
from sluice.artifacts import read_artifact, write_artifact
from sluice.execute import execute
from sluice.modeling import families
from sluice.modeling.datasets import model_features
from sluice.modeling.compact import FOREST_REASON, NotConvertible, convert
from sluice.modeling.export import export_serving_model, load_serving_model
from sluice.modeling.fitting import Budget, fit, split_reader
from sluice.pipeline import Component

LABEL = "income_bracket"


@pytest.fixture(scope="module")
def trainer_artifact(census_run, tmp_path_factory):
    """A Trainer artifact: a linear model alone, and an ensemble of it and a small forest."""
    transform = read_artifact(census_run.result.uri("transform"))
    features = model_features(transform, LABEL)
    import keras

    keras.utils.set_random_seed(1)
    linear = families.linear(features)
    evaluation = split_reader(transform, "eval", LABEL)(64, False, False, None)
    fit(linear, split_reader(transform, "train", LABEL), evaluation, Budget(steps=20, batch_size=64), seed=1)
    forest = families.gradient_boosted_trees(features, num_trees=10, max_depth=3, seed=1)
    fit(forest, split_reader(transform, "train", LABEL), None, Budget(steps=1), seed=1)
    uri = tmp_path_factory.mktemp("compact") / "trainer"
    with write_artifact(uri, type="Model", producer="tests") as draft:
        export_serving_model([linear], transform.uri, LABEL, draft.file("serving_model"))
        export_serving_model([linear, forest], transform.uri, LABEL, draft.file("ensemble_model"))
        members = [{"hyperparameters": {"family": "linear"}}, {"hyperparameters": {"family": "gradient_boosted_trees"}}]
        Model(serving_model="serving_model", ensemble_model="ensemble_model", train_steps=20, batch_size=64,
              hyperparameters=members[0]["hyperparameters"], metrics={}, members=members).write(draft)
    return read_artifact(uri), transform


def run_compact_export(trainer, transform, run_dir, **params):
    component = Component(
        "compact_export", "components.compact_export:SPEC", {"model": "trainer", "transform": "transform"},
        {"label": LABEL, "latency_calls": 5, **params},
    )
    return read_artifact(execute(component, run_dir, {"model": trainer.uri, "transform": transform.uri}).uri)


def test_keras_model_gets_measured_tflite_forms_and_a_forest_ensemble_is_named(trainer_artifact, tmp_path):
    trainer, transform = trainer_artifact
    compact = run_compact_export(trainer, transform, tmp_path)
    table = CompactModels.of(compact)

    forms = {row["form"]: row for row in table.forms}
    assert [row["model"] for row in table.forms] == ["single"] * 3 and set(forms) == {"saved_model", "float16", "int8"}
    for form in ("float16", "int8"):
        assert Path(compact.file(forms[form]["file"])).stat().st_size == forms[form]["bytes"]
        assert forms[form]["bytes"] < forms["saved_model"]["bytes"] / 4
        assert abs(forms[form]["accuracy"] - forms["saved_model"]["accuracy"]) <= 0.03
        assert forms[form]["latency_ms"] > 0
    assert forms["float16"]["max_abs_diff"] < 1e-3 and forms["int8"]["max_abs_diff"] < 0.03

    (left_out,) = table.not_converted
    assert left_out["model"] == "ensemble" and left_out["families"] == ["linear", "gradient_boosted_trees"]
    # Said without converting; the converter itself answers the very same for the forest ensemble.
    with pytest.raises(NotConvertible) as refused:
        convert(load_serving_model(trainer.file("ensemble_model")), "float16")
    assert left_out["reason"] == str(refused.value) == FOREST_REASON

    assert json.loads(Path(compact.file("compact.json")).read_text()) == table.model_dump(mode="json")
    fragment = Path(compact.file("compact.html")).read_text()
    assert fragment.count("<tr>") == 4 and "SimpleMLInferenceOpWithHandle" in fragment and "transform_features" in fragment
    assert "| single | linear | int8 |" in Path(compact.file("compact.md")).read_text()
    assert summary(compact).splitlines()[0].startswith("Compact export, single: saved_model ")


def test_switched_off_it_converts_nothing(trainer_artifact, tmp_path):
    compact = run_compact_export(*trainer_artifact, tmp_path, enabled=False)
    assert not CompactModels.of(compact).enabled and not list(compact.path.rglob("*.tflite"))
    assert summary(compact) == "Compact export: switched off"


def test_the_census_run_measures_its_exported_models(census_run, artifact):
    table = CompactModels.of(artifact("compact_export"))
    exported = Model.of(artifact("trainer")).exported()
    assert {row["model"] for row in table.forms} | {item["model"] for item in table.not_converted} == set(exported)
    assert "Compact export" in census_run.completed.stdout
    # The evaluation report carries the same table.
    report = (artifact("evaluator").path / "report.html").read_text()
    assert '<section class="compact-export">' in report
