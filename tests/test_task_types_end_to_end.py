"""A multiclass and a regression pipeline, end to end on a few hundred generated rows:
Transform, a two-trial search (a network and a forest), Trainer (both, averaged),
Evaluator, Pusher; then raw rows through the pushed SavedModel and through the REST server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.pipelines.task_types import COLUMNS, LABEL, create_pipeline, write_csv

pytestmark = pytest.mark.e2e

BEAM_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


def _run(task: str, tmp_path: Path):
    from sluice.artifacts import read_artifact
    from sluice.runner import run_pipeline

    csv_file = write_csv(tmp_path / f"{task}.csv", task)
    result = run_pipeline(create_pipeline(task, csv_file, tmp_path), tmp_path / "artifacts", run_id="run", beam_args=BEAM_ARGS)
    return csv_file, {name: read_artifact(result.uri(name)) for name in ("tuner", "trainer", "evaluator", "pusher")}


def _raw_rows(csv_file: Path, task: str, count: int = 5) -> list[dict]:
    """The first rows of the file as a client sends them: features only (no label, no label sources)."""
    import csv

    features = ("x1", "x2", "colour")
    with open(csv_file) as handle:
        rows = list(csv.DictReader(handle))[:count]
    return [{k: (float(v) if k != "colour" else v) for k, v in row.items() if k in features} for row in rows]


def _serve_and_ask(model_base: Path, verb: str, instances: list[dict]) -> dict:
    import httpx

    from sluice.serving.server import serve_in_thread
    from sluice.serving.service import ServingOptions

    with serve_in_thread(ServingOptions(models={"m": model_base}, poll_seconds=0.1)) as server:
        server.wait_ready(timeout=120)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answers = {}
            for v in ("predict", verb, "regress" if verb == "classify" else "classify"):
                body = {"instances": instances} if v == "predict" else {"examples": instances}  # TF Serving's shapes
                response = client.post(f"/v1/models/m:{v}", json=body)
                answers[v] = (response.status_code, response.json())
    return answers


def test_a_multiclass_pipeline_trains_evaluates_pushes_and_serves(tmp_path):
    from sluice.modeling.export import load_serving_model, predict_raw
    from sluice.serving.manifest import read_manifest
    from sluice.serving.raw_features import encode_instance, read_raw_features

    csv_file, artifacts = _run("multiclass", tmp_path)
    tuner = artifacts["tuner"].properties
    assert tuner["objective"] == "log_loss" and tuner["completed_trials"] == 2
    families = {t["hyperparameters"]["family"] for t in json.loads(Path(artifacts["tuner"].file("trials.json")).read_text())}
    assert families == {"dnn", "forest"}
    assert set(tuner["baselines"]) == {"majority_class", "logistic_regression"}
    majority = tuner["baselines"]["majority_class"]["accuracy"]
    assert tuner["best_metrics"]["accuracy"] > majority + 0.2  # the search learned what a constant cannot

    evaluation = artifacts["evaluator"].properties
    metrics = evaluation["metrics"]
    assert metrics["classes"] == 3 and metrics["accuracy"] > 0.7 and metrics["macro_f1"] > 0.6
    assert {f"class_{k}_recall" for k in range(3)} <= set(metrics)
    assert evaluation["blessed"] and artifacts["pusher"].properties["pushed"]

    pushed = Path(artifacts["pusher"].properties["pushed_to"])
    manifest = read_manifest(pushed)
    assert manifest["task"] == "multiclass"
    assert manifest["signatures"]["serving_default"]["outputs"] == ["class_id", "probabilities"]
    assert manifest["signatures"]["classify"] == {"inputs": ["inputs"], "outputs": ["classes", "scores"], "method": "tensorflow/serving/classify"}

    rows = _raw_rows(csv_file, "multiclass")
    probabilities = predict_raw(load_serving_model(str(pushed)), [encode_instance(r, read_raw_features(pushed)) for r in rows])
    assert probabilities.shape == (5, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)

    answers = _serve_and_ask(pushed.parent, "classify", rows)
    status, body = answers["predict"]
    assert status == 200, body
    np.testing.assert_allclose(np.array(body["predictions"]), probabilities, rtol=1e-5, atol=1e-6)
    status, body = answers["classify"]
    assert status == 200 and [label for label, _ in body["results"][0]] == ["0", "1", "2"]
    np.testing.assert_allclose([[score for _, score in row] for row in body["results"]], probabilities, rtol=1e-5, atol=1e-6)
    assert answers["regress"][0] == 400 and "multiclass" in answers["regress"][1]["error"]


def test_a_regression_with_a_derived_label_trains_evaluates_pushes_and_serves_without_its_sources(tmp_path):
    from sluice.modeling.export import load_serving_model, predict_raw
    from sluice.serving.manifest import read_manifest
    from sluice.serving.raw_features import encode_instance, read_raw_features

    csv_file, artifacts = _run("regression", tmp_path)
    tuner = artifacts["tuner"].properties
    assert tuner["objective"] == "rmse" and tuner["completed_trials"] == 2
    assert set(tuner["baselines"]) == {"mean", "linear_regression"}
    assert tuner["best_metrics"]["rmse"] < 0.6 * tuner["baselines"]["mean"]["rmse"]

    evaluation = artifacts["evaluator"].properties
    metrics = evaluation["metrics"]
    assert metrics["r2"] > 0.5 and metrics["rmse"] > 0 and "accuracy" not in metrics
    assert 12 < metrics["label_mean"] < 18  # labels computed from the raw test rows' tips and fares
    assert evaluation["blessed"] and artifacts["pusher"].properties["pushed"]

    pushed = Path(artifacts["pusher"].properties["pushed_to"])
    manifest = read_manifest(pushed)
    assert manifest["task"] == "regression" and manifest["signatures"]["serving_default"]["outputs"] == ["prediction"]
    assert manifest["signatures"]["regress"]["method"] == "tensorflow/serving/regress"
    served_features = read_raw_features(pushed)
    assert set(served_features) == {"x1", "x2", "colour"}  # neither the label nor its sources

    rows = _raw_rows(csv_file, "regression")
    predictions = predict_raw(load_serving_model(str(pushed)), [encode_instance(r, served_features) for r in rows])
    assert predictions.shape == (5,)
    expected = [15 + 3 * r["x1"] - 2 * r["x2"] + (2.0 if r["colour"] == "red" else 0.0) for r in rows]
    assert np.sqrt(np.mean((predictions - expected) ** 2)) < 2.5

    answers = _serve_and_ask(pushed.parent, "regress", rows)
    status, body = answers["predict"]
    assert status == 200, body
    np.testing.assert_allclose(body["predictions"], predictions, rtol=1e-5)
    status, body = answers["regress"]
    assert status == 200 and np.allclose(body["results"], predictions, rtol=1e-5)
    assert answers["classify"][0] == 400 and "regression" in answers["classify"][1]["error"]
