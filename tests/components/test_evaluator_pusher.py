"""Evaluator and Pusher on the shared small census run: metrics, slices, report, blessing
against the served version, manifests, retention and rollback of real pushes, and a push a
stock TensorFlow loads."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from components.evaluator import load_metrics
from sluice.artifacts import read_artifact
from sluice.execute import execute
from sluice.modeling.families import FOREST_FAMILIES
from sluice.pipeline import Component
from sluice.serving.manifest import read_manifest
from sluice.serving.versions import ROLLED_BACK, rollback, served_version, versions
from tests.helpers import small_census_config


def test_first_push_is_blessed_by_the_floor_and_carries_a_manifest(census_run, artifact):
    evaluation, pushed = artifact("evaluator"), artifact("pusher")
    doc = load_metrics(evaluation)
    rows = artifact("example_gen").properties["splits"]["test"]["rows"]
    assert doc["overall"]["examples"] == rows
    assert set(doc["overall"]) >= {"accuracy", "auc", "log_loss", "precision", "recall", "expected_calibration_error"}
    assert sum(b["count"] for b in doc["calibration"]) == rows
    assert set(doc["slices"]) == {"sex", "race", "education", "age"}
    for feature, slices in doc["slices"].items():
        assert sum(m["examples"] for m in slices.values()) == rows, feature  # every row in exactly one slice
    assert "[25, 35)" in doc["slices"]["age"]
    assert doc["served"] is None and doc["blessing"]["blessed"] and "first push" in doc["blessing"]["reason"]
    report = Path(evaluation.file("report.html")).read_text()
    assert report.count("<svg") == 1 + len(doc["slices"]) and "first push" in report
    assert "Blessing: blessed" in census_run.completed.stdout  # the run summary prints the decision

    manifest = read_manifest(pushed.properties["pushed_to"])
    assert manifest["pipeline"] == "census" and manifest["run_id"] == "shared"
    assert manifest["version"] == pushed.properties["version"] and manifest["metrics"]["accuracy"] == doc["overall"]["accuracy"]
    assert manifest["signatures"]["serving_default"]["inputs"] == ["examples"]
    assert manifest["signatures"]["serving_default"]["outputs"] == ["probability"]
    assert manifest["blessing"]["blessed"] is True
    # Ops read from the SavedModel agree with the families the Trainer used.
    needs_forests = any(family in FOREST_FAMILIES for family in manifest["families"])
    assert (manifest["ops"]["libraries"] == ["tensorflow_decision_forests"]) == needs_forests
    assert bool(manifest["ops"]["custom_ops"]) == needs_forests


def _evaluator(config, min_accuracy=None):
    from pipelines.census.pipeline import create_pipeline

    component = create_pipeline(config).component("evaluator")
    params = dict(component.params, **({} if min_accuracy is None else {"min_accuracy": min_accuracy}))
    return Component(component.name, component.spec, component.inputs, params)


def test_a_second_run_is_judged_against_the_served_version_then_pushed_and_rolled_back(census_run, artifact, tmp_path):
    from pipelines.census.pipeline import create_pipeline

    serving = tmp_path / "serving" / "census"
    shutil.copytree(Path(census_run.config.serving_root) / "census", serving)
    first = served_version(serving)
    config = small_census_config(tmp_path, "evaluator.min_slice_rows=50", "pusher.keep_versions=2")
    inputs = {"model": artifact("trainer").uri, "transform": artifact("transform").uri, "examples": artifact("example_gen").uri}

    refused = execute(_evaluator(config, min_accuracy=1.0), tmp_path / "refused", inputs)
    blessing = read_artifact(refused.uri).properties["blessing"]
    assert read_artifact(refused.uri).properties["blessed"] is False
    assert blessing["served_version"] == first and blessing["reason"].startswith("not blessed: accuracy")
    # The candidate is the model already served: scored on the same rows, the numbers agree.
    assert blessing["served"]["log_loss"] == blessing["candidate"]["log_loss"]
    assert any(c["check"] == "slice" and c["slice"] == "sex=Male" for c in blessing["checks"])
    pusher = create_pipeline(config).component("pusher")
    not_pushed = execute(pusher, tmp_path / "refused", {"model": artifact("trainer").uri, "evaluation": refused.uri})
    assert read_artifact(not_pushed.uri).properties["pushed"] is False and versions(serving) == [first]

    blessed = execute(_evaluator(config), tmp_path / "blessed", inputs)
    assert read_artifact(blessed.uri).properties["blessed"] is True
    served_doc = load_metrics(read_artifact(blessed.uri))["served"]
    assert served_doc["version"] == first and set(served_doc["slices"]) == {"sex", "race", "education", "age"}
    for run in ("second", "third"):
        execute(pusher, tmp_path / run, {"model": artifact("trainer").uri, "evaluation": blessed.uri})
    second, third = versions(serving)  # keep_versions=2: the first push was deleted
    assert first < second < third and read_manifest(serving / str(third))["blessing"]["served_version"] == first

    done = rollback(serving)
    assert done.served == second == served_version(serving)
    assert read_manifest(serving / ROLLED_BACK / str(third))["version"] == third  # moved aside whole
    assert (serving / ROLLED_BACK / str(third) / "saved_model.pb").exists()


STOCK_TENSORFLOW_ONLY = r"""
import glob, json, sys
import tensorflow as tf

model_dir, pattern = sys.argv[1], sys.argv[2]
rows = [record.numpy() for record in tf.data.TFRecordDataset(sorted(glob.glob(pattern))).take(8)]
model = tf.saved_model.load(model_dir)
probabilities = model.signatures["serving_default"](examples=tf.constant(rows))["probability"].numpy()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sluice", "tensorflow_decision_forests", "tensorflow_transform"))
print(json.dumps({"probabilities": probabilities.tolist(), "other_modules": loaded}))
"""


def test_a_stock_serving_push_loads_in_a_process_with_tensorflow_alone(artifact, tmp_path):
    from pipelines.census.pipeline import create_pipeline

    config = small_census_config(
        tmp_path, "tuner.stock_serving_only=true", "tuner.max_trials=0", "trainer.ensemble_size=1", "trainer.train_steps=20"
    )
    pipeline = create_pipeline(config)
    assert pipeline.component("tuner").params["families"] == ["linear", "dnn", "wide_deep"]
    run_dir, transform, examples = tmp_path / "run", artifact("transform").uri, artifact("example_gen").uri
    tuner = execute(pipeline.component("tuner"), run_dir, {"transform": transform})
    trainer = execute(pipeline.component("trainer"), run_dir, {"transform": transform, "hyperparameters": tuner.uri})
    evaluation = execute(pipeline.component("evaluator"), run_dir, {"model": trainer.uri, "transform": transform, "examples": examples})
    pushed = read_artifact(execute(pipeline.component("pusher"), run_dir, {"model": trainer.uri, "evaluation": evaluation.uri}).uri)
    model_dir = pushed.properties["pushed_to"]
    manifest = read_manifest(model_dir)
    assert manifest["ops"] == {"libraries": [], "custom_ops": []} and manifest["families"] == ["wide_deep"]

    completed = subprocess.run(
        [sys.executable, "-c", STOCK_TENSORFLOW_ONLY, model_dir, read_artifact(examples).file("test", "data-*.tfrecord")],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    served = json.loads(completed.stdout.strip().splitlines()[-1])
    assert served["other_modules"] == []
    assert len(served["probabilities"]) == 8 and all(0 < p < 1 for p in served["probabilities"])
