"""Each component's artifact from one real run of the census pipeline on 900 sample rows."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv

from sluice.modeling.metrics import binary_metrics
from components.example_validator import AnomaliesFound
from components.schema_gen import SCHEMA_FILE
from components.tuner.component import SearchFailed
from sluice.artifacts import read_artifact, write_artifact
from sluice.errors import GateClosed, RowCountMismatch
from sluice.execute import execute
from sluice.pipeline import Component
from tests.helpers import ROOT


def test_statistics_count_exactly_the_examples_written(artifact):
    examples, statistics = artifact("example_gen"), artifact("statistics_gen")
    for split, info in examples.properties["splits"].items():
        assert statistics.properties["splits"][split]["num_examples"] == info["rows"] > 0


def test_reviewed_schema_is_used_when_present(artifact):
    schema = artifact("schema_gen")
    assert schema.properties["source"] == "reviewed"
    reviewed = (ROOT / "pipelines" / "census" / "schema.pbtxt").read_text()
    assert Path(schema.file(SCHEMA_FILE)).read_text() == reviewed


def test_schema_is_inferred_from_train_without_a_reviewed_one(artifact, tmp_path):
    component = Component("schema_gen", "components.schema_gen:SPEC", {"statistics": "statistics_gen"}, {"reviewed_schema": str(tmp_path / "none.pbtxt")})
    outcome = execute(component, tmp_path, {"statistics": artifact("statistics_gen").uri})
    schema = read_artifact(outcome.uri)
    assert schema.properties == {**schema.properties, "source": "inferred", "inferred_from": "train"}
    text = Path(schema.file(SCHEMA_FILE)).read_text()
    assert 'name: "income_bracket"' in text and 'name: "age"' in text and "type: INT" in text


def test_anomalies_stop_the_run_naming_feature_and_anomaly(artifact, tmp_path):
    narrow = (ROOT / "pipelines" / "census" / "schema.pbtxt").read_text().replace("max: 100", "max: 30", 1)
    assert narrow.count("max: 30") == 1
    with write_artifact(tmp_path / "schema", type="Schema", producer="test") as draft:
        Path(draft.file(SCHEMA_FILE)).write_text(narrow)
    component = Component("example_validator", "components.example_validator:SPEC")
    with pytest.raises(AnomaliesFound, match=r"split 'eval', feature 'age': Out-of-range values"):
        execute(component, tmp_path / "run", {"statistics": artifact("statistics_gen").uri, "schema": str(tmp_path / "schema")})
    # The findings are kept: the artifact is sealed with the closed gate, then the run stops.
    sealed = read_artifact(tmp_path / "run" / "example_validator")
    assert "feature 'age'" in sealed.properties["gate_closed"] and sealed.properties["blocking"] >= 1
    assert Path(sealed.file("report.html")).read_text().count("blocking") >= 2
    with pytest.raises(GateClosed, match="feature 'age'"):  # a retry stops at the same gate
        execute(component, tmp_path / "run", {"statistics": artifact("statistics_gen").uri, "schema": str(tmp_path / "schema")})


def test_transform_keeps_every_row_and_a_loadable_graph(artifact):
    import tensorflow_transform as tft

    examples, transform = artifact("example_gen"), artifact("transform")
    for split, info in examples.properties["splits"].items():
        assert transform.properties["splits"][split]["rows"] == info["rows"]
        files = tf.io.gfile.glob(transform.file(transform.properties["splits"][split]["pattern"]))
        assert sum(1 for _ in tf.data.TFRecordDataset(files)) == info["rows"]
    post = transform.properties["post_transform_statistics"]
    train_statistics = tfdv.load_stats_binary(transform.file(post, "train", "FeatureStats.pb"))
    assert train_statistics.datasets[0].num_examples == examples.properties["splits"]["train"]["rows"]
    age = next(f for f in train_statistics.datasets[0].features if f.path.step == ["age"])
    assert abs(age.num_stats.mean) < 1e-3  # z-scored with the statistics of this very split
    pre = transform.properties["pre_transform_statistics"]
    raw_train = tfdv.load_stats_binary(transform.file(pre["dir"], "train", "FeatureStats.pb"))
    raw_age = next(f for f in raw_train.datasets[0].features if f.path.step == ["age"])
    assert raw_train.datasets[0].num_examples == examples.properties["splits"]["train"]["rows"]
    assert raw_age.num_stats.mean > 17  # the raw ages, before z-scoring
    output = tft.TFTransformOutput(transform.uri)
    assert "income_bracket" in output.raw_feature_spec()  # the raw metadata is written
    assert output.vocabulary_size_by_name("education") >= 10
    assert output.num_buckets_for_transformed_feature("education_x_occupation") == 1000


def test_transform_refuses_statistics_of_other_rows_before_running(artifact, tmp_path):
    statistics = artifact("statistics_gen")
    wrong = {name: {**split, "num_examples": split["num_examples"] + 1} for name, split in statistics.properties["splits"].items()}
    with write_artifact(tmp_path / "statistics", type="Statistics", producer="test") as draft:
        draft.properties["splits"] = wrong
    component = Component("transform", "components.transform.component:SPEC", params={"preprocessing_fn": "pipelines.census.preprocessing:preprocessing_fn"})
    inputs = {"examples": artifact("example_gen").uri, "schema": artifact("schema_gen").uri, "statistics": str(tmp_path / "statistics")}
    with pytest.raises(RowCountMismatch, match=r"do not describe split '\w+'"):
        execute(component, tmp_path / "run", inputs)
    assert not (tmp_path / "run" / "transform").exists()  # nothing sealed


def test_every_trial_is_checked_and_the_best_hyperparameters_kept(artifact):
    tuner = artifact("tuner")
    trials = json.loads(Path(tuner.file("trials.json")).read_text())
    assert len(trials) == 2 and all(t["status"] == "COMPLETED" for t in trials)
    best = json.loads(Path(tuner.file("best_hyperparameters.json")).read_text())
    assert best in [t["hyperparameters"] for t in trials]


def untrainable_model(values, features, seed):
    """Builds, but every trial's training fails."""
    from sluice.modeling import families

    def broken_loss(y_true, y_pred):
        raise ValueError("this model cannot be trained")

    model = families.dnn(features)
    model.compile(optimizer="adam", loss=broken_loss)
    return model


def test_a_search_with_no_successful_trial_fails_loudly(artifact, tmp_path):
    component = Component(
        "tuner",
        "components.tuner.component:SPEC",
        {"transform": "transform"},
        {
            "search_space": "pipelines.census.model:search_space",
            "model_fn": "tests.components.test_pipeline_components:untrainable_model",
            "label": "income_bracket",
            "max_trials": 2,
            "trial_steps": 1,
        },
    )
    with pytest.raises(SearchFailed, match="none of 2 trials finished(.|\\n)*this model cannot be trained"):
        execute(component, tmp_path, {"transform": artifact("transform").uri})
    assert not (tmp_path / "tuner").exists()


def test_exported_model_carries_its_vocabularies(artifact):
    trainer = artifact("trainer")
    assets = {p.name for p in Path(trainer.file("serving_model", "assets")).iterdir()}
    assert {"education", "occupation", "native_country"} <= assets


def test_evaluator_scores_every_test_row(artifact):
    metrics = artifact("evaluator").properties["metrics"]
    assert metrics["examples"] == artifact("example_gen").properties["splits"]["test"]["rows"]
    assert 0 <= metrics["accuracy"] <= 1 and 0 <= metrics["auc"] <= 1 and metrics["log_loss"] > 0


def test_binary_metrics_match_hand_computed_values():
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    metrics = binary_metrics(labels, scores)
    assert metrics["accuracy"] == 0.75  # 0.35 is the one wrong call
    assert metrics["auc"] == pytest.approx(0.75)  # 3 of the 4 positive/negative pairs ordered
    expected_loss = -np.mean(np.log([0.9, 0.6, 0.35, 0.8]))
    assert metrics["log_loss"] == pytest.approx(expected_loss)
    assert binary_metrics(np.array([0, 1]), np.array([0.5, 0.5]))["auc"] == 0.5  # a tie counts one half


def test_pusher_pushes_a_blessed_model(artifact, tmp_path):
    # A model that is not blessed is refused in tests/components/test_evaluator_pusher.py.
    inputs = {"model": artifact("trainer").uri, "evaluation": artifact("evaluator").uri}
    wiring = {"model": "trainer", "evaluation": "evaluator"}
    serving = tmp_path / "serving" / "census"
    assert artifact("evaluator").properties["blessed"] is True
    pushed = execute(Component("pusher", "components.pusher:SPEC", wiring, {"serving_dir": str(serving)}), tmp_path / "b", inputs)
    version = read_artifact(pushed.uri).properties["version"]
    assert [p.name for p in serving.iterdir()] == [str(version)]
    assert (serving / str(version) / "saved_model.pb").exists()
