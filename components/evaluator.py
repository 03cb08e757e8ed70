"""Evaluator: accuracy, AUC and log loss of the exported models; picks the one to push.

Each exported model (the best trial's, and the ensemble when the Trainer made one) is
scored on the held-out `split` and on the `choose_on` split. The one with the better
`choose_by` metric on `choose_on` is chosen: the held-out split only reports, so the
choice never looks at the data that judges it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Mapping, Sequence

import numpy as np

from sluice.artifacts import Artifact, ArtifactDraft
from sluice.modeling.metrics import binary_metrics

METRICS_FILE = "metrics.json"


@dataclasses.dataclass(frozen=True)
class Params:
    """Evaluator's parameters.

    Args:
        label: the label's transformed feature name.
        split: the split to score (never seen by Transform's analysis or training).
        batch_size: examples per scoring batch.
        choose_on: the split on which the exported models are compared.
        choose_by: "log_loss" (lower wins), "accuracy" or "auc" (higher wins).
    """

    label: str
    split: str = "test"
    batch_size: int = 1024
    choose_on: str = "eval"
    choose_by: str = "log_loss"


def load_metrics(evaluation: Artifact) -> dict:
    with open(evaluation.file(METRICS_FILE)) as handle:
        return json.load(handle)


def score_split(model_dir: str, transform: Artifact, split: str, label: str, batch_size: int):
    """(labels, probabilities) of one transformed split, through the SavedModel."""
    from sluice.modeling.export import load_serving_model, predict_transformed
    from sluice.modeling.datasets import split_dataset

    saved_model = load_serving_model(model_dir)
    labels, probabilities = [], []
    for features, target in split_dataset(transform, split, label, batch_size):
        probabilities.append(predict_transformed(saved_model, features))
        labels.append(target.numpy())
    return np.concatenate(labels), np.concatenate(probabilities)


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    trainer, transform = inputs["model"], inputs["transform"]
    exported = {"single": trainer.properties["serving_model"]}
    if trainer.properties.get("ensemble_model"):
        exported["ensemble"] = trainer.properties["ensemble_model"]
    candidates = {}
    for name, directory in exported.items():
        model_dir = trainer.file(directory)
        candidates[name] = {
            "model": directory,
            params.choose_on: binary_metrics(*score_split(model_dir, transform, params.choose_on, params.label, params.batch_size)),
            params.split: binary_metrics(*score_split(model_dir, transform, params.split, params.label, params.batch_size)),
        }
    sign = 1 if params.choose_by.endswith("loss") else -1
    chosen = min(candidates, key=lambda name: sign * candidates[name][params.choose_on][params.choose_by])
    metrics = candidates[chosen][params.split]
    with open(output.file(METRICS_FILE), "w") as handle:
        json.dump(metrics, handle, indent=2, sort_keys=True)
    output.properties.update(
        split=params.split,
        metrics=metrics,
        chosen=chosen,
        chosen_model=candidates[chosen]["model"],
        chosen_by=f"{params.choose_by} on {params.choose_on}",
        candidates=candidates,
    )
