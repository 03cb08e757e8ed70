"""Pusher: copies a blessed SavedModel into a TF Serving layout, `<serving_dir>/<version>/`.

The model pushed is the one the Evaluator chose (the best trial's, or the ensemble); it is
blessed when its evaluated accuracy reaches the pipeline's threshold. The copy
is written beside its final place and renamed, so TF Serving never sees half a version.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path
from typing import Mapping, Sequence

from components.evaluator import ModelEvaluation
from components.trainer import Model
from sluice.artifacts import Artifact, ArtifactDraft
from sluice.contract import ComponentSpec
from sluice.serving.pushed_model import PushedModel


@dataclasses.dataclass(frozen=True)
class Params:
    """Pusher's parameters.

    Args:
        serving_dir: the model's directory in the serving layout (versions go below it).
        min_accuracy: the evaluated accuracy a model needs to be pushed.
    """

    serving_dir: str
    min_accuracy: float


def next_version(serving_dir: Path) -> int:
    """A version number above every existing one (seconds since the epoch when that is higher)."""
    existing = [int(p.name) for p in serving_dir.glob("*") if p.name.isdigit()] if serving_dir.exists() else []
    return max([int(time.time())] + [v + 1 for v in existing])


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    trainer, evaluation = inputs["model"], ModelEvaluation.of(inputs["evaluation"])
    accuracy = evaluation.accuracy
    if accuracy < params.min_accuracy:
        reason = f"accuracy {accuracy:.4f} < threshold {params.min_accuracy}"
        PushedModel(accuracy=accuracy, min_accuracy=params.min_accuracy, pushed=False, reason=reason).write(output)
        return
    serving_dir = Path(params.serving_dir)
    serving_dir.mkdir(parents=True, exist_ok=True)
    version = next_version(serving_dir)
    staging = serving_dir / f".{version}.incoming"
    shutil.copytree(trainer.file(evaluation.chosen_model), staging)
    os.rename(staging, serving_dir / str(version))
    PushedModel(
        accuracy=accuracy,
        min_accuracy=params.min_accuracy,
        pushed=True,
        model=evaluation.chosen,
        version=version,
        pushed_to=str(serving_dir / str(version)),
    ).write(output)


def summary(pushed: Artifact) -> str:
    recorded = PushedModel.of(pushed)
    return f"Pushed SavedModel: {recorded.pushed_to}" if recorded.pushed else f"Model not pushed: {recorded.reason}"


SPEC = ComponentSpec(
    run=run, params=Params, output=PushedModel, inputs={"model": Model, "evaluation": ModelEvaluation}, summary=summary
)
