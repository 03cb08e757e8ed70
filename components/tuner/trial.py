"""One trial of a model search: build the model of one point of the space, train, score.

`run_trial_in_child` runs it in a fresh Python process, so whatever a trial allocates
(TensorFlow graphs, Keras state, a forest) is returned to the system when it ends and a
long search does not grow.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Mapping

from sluice.modeling.fitting import Budget


@dataclasses.dataclass(frozen=True)
class TrialRequest:
    """Everything a trial needs, JSON-friendly.

    Args:
        model_fn: "module:function" building a model from (values, ModelFeatures, seed).
        transform_uri: the Transform artifact holding the transformed splits.
        label: the label's transformed feature name.
        values: hyperparameter name -> value.
        budget: a `Budget` as a dict.
        seed: drives initialisation, shuffling and the forests' sampling.
        folds: 1 for holdout (train on train, score on eval), K for K-fold over train.
        model_dir: where to keep the trained model when the Trainer would train the very
            same one (a one-pass family under holdout), so it is reused, not trained again.
        task: "binary", "multiclass" or "regression": the model's head and metrics.
    """

    model_fn: str
    transform_uri: str
    label: str
    values: Mapping[str, Any]
    budget: Mapping[str, Any]
    seed: int
    folds: int = 1
    model_dir: str | None = None
    task: str = "binary"


def run_trial(request: TrialRequest) -> dict[str, Any]:
    """Trains and scores one model; returns its metrics, size, latency, seconds and when it ran."""
    from sluice.artifacts import read_artifact
    from sluice.modeling.fitting import train_and_score
    from sluice.pipeline import load_object
    from sluice.modeling.datasets import model_features

    started, started_at = time.monotonic(), time.time()
    transform = read_artifact(request.transform_uri)
    features = model_features(transform, request.label, request.task)
    build = load_object(request.model_fn)
    model, record = train_and_score(
        lambda: build(dict(request.values), features, request.seed),
        transform,
        request.label,
        Budget(**request.budget),
        request.seed,
        folds=request.folds,
        task=request.task,
    )
    if request.model_dir and request.folds <= 1 and record.get("trained_in_one_pass"):
        keep_model(model, request.model_dir)
    return {**record, "seconds": time.monotonic() - started, "started_at": started_at, "ended_at": time.time()}


def keep_model(model, model_dir: str) -> None:
    """Saves a trained model whole, or not at all: written beside `model_dir`, then renamed."""
    import os
    import shutil

    incoming = f"{model_dir}.incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    model.save(incoming)
    shutil.rmtree(model_dir, ignore_errors=True)
    os.rename(incoming, model_dir)


def run_trial_in_child(request: TrialRequest) -> dict[str, Any]:
    """`run_trial` in a fresh process; {"error": ...} when the trial raised or died."""
    return run_trials_in_child([request])[0]


def run_trials_in_child(requests: list[TrialRequest]) -> list[dict[str, Any]]:
    """`run_trial` of each request, one after the other in one fresh process.

    For small models trained together (the baselines), where importing TensorFlow once
    costs more than the training. Each record is {"error": ...} when its trial raised;
    all are when the process died.
    """
    from sluice.process import call_in_child

    reply = call_in_child("components.tuner.trial", {"requests": [dataclasses.asdict(r) for r in requests]})
    return reply["records"] if "records" in reply else [reply] * len(requests)


def _run_requests(message: dict) -> dict:
    import traceback

    records = []
    for request in message["requests"]:
        try:
            records.append(run_trial(TrialRequest(**request)))
        except Exception as error:  # the next request still runs; this one reports why it failed
            traceback.print_exc()
            records.append({"error": f"{type(error).__name__}: {error}"})
    return {"records": records}


if __name__ == "__main__":
    from sluice.process import answer_parent

    answer_parent(_run_requests)
