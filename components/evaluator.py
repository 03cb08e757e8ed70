"""Evaluator: accuracy, AUC and log loss of the exported models; picks the one to push.

Each exported model (the best trial's, and the ensemble when the Trainer made one) is
scored on the held-out `split` and on the `choose_on` split. The one with the better
`choose_by` metric on `choose_on` is chosen: the held-out split only reports, so the
choice never looks at the data that judges it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Sequence

import numpy as np

from components.trainer import Model
from sluice.artifacts import Artifact, ArtifactDraft, ArtifactProperties
from sluice.contract import ComponentSpec
from sluice.modeling.metrics import best_first, binary_metrics, objective_direction
from sluice.modeling.transform_graph import TransformGraph

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

    def __post_init__(self):
        objective_direction(self.choose_by, "Evaluator: choose_by")


class ModelEvaluation(ArtifactProperties):
    """An Evaluator artifact: the chosen model and its metrics on the held-out split.

    Args:
        split: the held-out split scored; metrics: the chosen model's metrics on it
            (also in metrics.json).
        chosen: which exported model was chosen ("single" or "ensemble").
        chosen_model: its SavedModel directory, relative to the Trainer's artifact.
        chosen_by: "<metric> on <split>".
        candidates: each exported model's directory and metrics on both splits.
    """

    split: str
    metrics: dict[str, float | int]
    chosen: str
    chosen_model: str
    chosen_by: str
    candidates: dict[str, dict[str, Any]]

    @property
    def accuracy(self) -> float:
        return self.metrics["accuracy"]


def load_metrics(evaluation: Artifact) -> dict:
    with open(evaluation.file(METRICS_FILE)) as handle:
        return json.load(handle)


def summary(evaluation: Artifact) -> str:
    """The chosen model's metrics on the held-out split, and why it was chosen."""
    recorded = ModelEvaluation.of(evaluation)
    metrics = recorded.metrics
    shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float))
    text = f"Test metrics ({metrics['examples']} examples): {shown}"
    if len(recorded.candidates) > 1:
        text += f"\nModel kept: {recorded.chosen} (of {', '.join(recorded.candidates)}; by {recorded.chosen_by})"
    return text


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
    candidates = {}
    for name, directory in Model.of(trainer).exported().items():
        model_dir = trainer.file(directory)
        candidates[name] = {
            "model": directory,
            params.choose_on: binary_metrics(*score_split(model_dir, transform, params.choose_on, params.label, params.batch_size)),
            params.split: binary_metrics(*score_split(model_dir, transform, params.split, params.label, params.batch_size)),
        }
    chosen = best_first(candidates, params.choose_by, lambda name: candidates[name][params.choose_on][params.choose_by])[0]
    metrics = candidates[chosen][params.split]
    with open(output.file(METRICS_FILE), "w") as handle:
        json.dump(metrics, handle, indent=2, sort_keys=True)
    ModelEvaluation(
        split=params.split,
        metrics=metrics,
        chosen=chosen,
        chosen_model=candidates[chosen]["model"],
        chosen_by=f"{params.choose_by} on {params.choose_on}",
        candidates=candidates,
    ).write(output)


SPEC = ComponentSpec(
    run=run, params=Params, output=ModelEvaluation, inputs={"model": Model, "transform": TransformGraph}, summary=summary
)
