"""Evaluator: accuracy, AUC and log loss of the exported model on a held-out split."""

from __future__ import annotations

import dataclasses
import json
from typing import Mapping, Sequence

import numpy as np

from sluice.artifacts import Artifact, ArtifactDraft

METRICS_FILE = "metrics.json"


@dataclasses.dataclass(frozen=True)
class Params:
    """Evaluator's parameters.

    Args:
        label: the label's transformed feature name.
        split: the split to score (never seen by Transform's analysis or training).
        batch_size: examples per scoring batch.
    """

    label: str
    split: str = "test"
    batch_size: int = 1024


def binary_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Accuracy at 0.5, ROC AUC (ties count one half), and mean log loss."""
    labels = np.asarray(labels, dtype=np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    positives, negatives = int(labels.sum()), int((1 - labels).sum())
    if labels.size == 0 or positives == 0 or negatives == 0:
        raise ValueError("binary_metrics needs at least one positive and one negative label")
    # AUC by the rank-sum statistic, with tied scores sharing their mean rank.
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    _, first, counts = np.unique(sorted_p, return_index=True, return_counts=True)
    mean_ranks = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mean_ranks, counts)
    auc = (ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives)
    log_loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    return {
        "accuracy": float(np.mean((p >= 0.5) == (labels == 1))),
        "auc": float(auc),
        "log_loss": float(log_loss),
        "examples": int(labels.size),
        "positive_rate": float(positives / labels.size),
    }


def load_metrics(evaluation: Artifact) -> dict:
    with open(evaluation.file(METRICS_FILE)) as handle:
        return json.load(handle)


def score_split(model_dir: str, transform: Artifact, split: str, label: str, batch_size: int):
    """(labels, probabilities) of one transformed split, through the SavedModel."""
    import tensorflow as tf

    from sluice.export import predict_transformed
    from sluice.training import split_dataset

    saved_model = tf.saved_model.load(model_dir)
    labels, probabilities = [], []
    for features, target in split_dataset(transform, split, label, batch_size):
        probabilities.append(predict_transformed(saved_model, features))
        labels.append(target.numpy())
    return np.concatenate(labels), np.concatenate(probabilities)


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    trainer = inputs["model"]
    labels, probabilities = score_split(
        trainer.file(trainer.properties["serving_model"]), inputs["transform"], params.split, params.label, params.batch_size
    )
    metrics = binary_metrics(labels, probabilities)
    with open(output.file(METRICS_FILE), "w") as handle:
        json.dump(metrics, handle, indent=2, sort_keys=True)
    output.properties.update(split=params.split, metrics=metrics)
