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

from sluice.artifacts import Artifact, ArtifactDraft


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
    trainer, evaluation = inputs["model"], inputs["evaluation"]
    accuracy = evaluation.properties["metrics"]["accuracy"]
    output.properties.update(accuracy=accuracy, min_accuracy=params.min_accuracy)
    if accuracy < params.min_accuracy:
        output.properties.update(pushed=False, reason=f"accuracy {accuracy:.4f} < threshold {params.min_accuracy}")
        return
    serving_dir = Path(params.serving_dir)
    serving_dir.mkdir(parents=True, exist_ok=True)
    version = next_version(serving_dir)
    staging = serving_dir / f".{version}.incoming"
    shutil.copytree(trainer.file(evaluation.properties["chosen_model"]), staging)
    os.rename(staging, serving_dir / str(version))
    output.properties.update(pushed=True, model=evaluation.properties["chosen"], version=version, pushed_to=str(serving_dir / str(version)))
