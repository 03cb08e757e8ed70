"""Pusher: copies a blessed SavedModel into a TF Serving layout, `<serving_dir>/<version>/`.

The model pushed is the Evaluator's candidate (the best trial's, or the ensemble), and
only when the Evaluator blessed it (`sluice.modeling.blessing`). The copy and its
`manifest.json` (`sluice.serving.manifest`) are written into a staging directory beside the
final place (`.<version>.incoming-<pid>@<host>`) and renamed, so TF Serving never sees half a
version; a staging directory a killed push left is removed by the next push. Then all but the
`keep_versions` highest versions are deleted; the served version is the highest, so it is
never one of them. Versions rolled back (`sluice rollback`) wait in `.rolled_back/`,
untouched.
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
from sluice.config import ConfigError
from sluice.contract import ComponentSpec
from sluice.serving.manifest import write_manifest
from sluice.serving.pushed_model import PushedModel
from sluice.serving.versions import next_version, retire_old_versions, remove_abandoned, work_dir


@dataclasses.dataclass(frozen=True)
class Params:
    """Pusher's parameters.

    Args:
        serving_dir: the model's directory in the serving layout (versions go below it).
        pipeline: the pipeline's name, recorded in each version's manifest.
        keep_versions: how many versions stay after a push (the served one always does).
    """

    serving_dir: str
    pipeline: str = ""
    keep_versions: int = 5

    def __post_init__(self):
        if self.keep_versions < 1:
            raise ConfigError("Pusher: keep_versions must be at least 1 (the served version is never deleted)")


def _families(trainer: Artifact, chosen: str) -> list[str]:
    model = Model.of(trainer)
    if chosen == "ensemble":
        return sorted({m["hyperparameters"].get("family", "") for m in model.members} - {""})
    return [model.hyperparameters["family"]] if "family" in model.hyperparameters else []


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    trainer, evaluation = inputs["model"], ModelEvaluation.of(inputs["evaluation"])
    blessing = evaluation.blessing
    if not evaluation.blessed:
        PushedModel(accuracy=evaluation.accuracy, blessed=False, pushed=False, reason=blessing.reason).write(output)
        return
    serving_dir = Path(params.serving_dir)
    serving_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned(serving_dir)  # a killed push's half copy
    version = next_version(serving_dir)
    staging = work_dir(serving_dir, version, "incoming")
    shutil.copytree(trainer.file(evaluation.chosen_model), staging)
    write_manifest(
        staging,
        {
            "pipeline": params.pipeline,
            "run_id": output.final_path.parent.name,
            "version": version,
            "pushed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": evaluation.chosen,
            "task": Model.of(trainer).task,
            "families": _families(trainer, evaluation.chosen),
            "metrics": {"split": evaluation.split, **evaluation.metrics},
            # The decision in short; every check is in the Evaluator's artifact.
            "blessing": {"blessed": True, "reason": blessing.reason, "served_version": blessing.served_version},
        },
    )
    os.rename(staging, serving_dir / str(version))
    retired = retire_old_versions(serving_dir, params.keep_versions)
    PushedModel(
        accuracy=evaluation.accuracy,
        blessed=True,
        pushed=True,
        reason=blessing.reason,
        model=evaluation.chosen,
        version=version,
        pushed_to=str(serving_dir / str(version)),
        replaced_version=blessing.served_version,
        retired_versions=retired,
    ).write(output)


def summary(pushed: Artifact) -> str:
    recorded = PushedModel.of(pushed)
    if not recorded.pushed:
        return f"Model not pushed: {recorded.reason}"
    text = f"Pushed SavedModel: {recorded.pushed_to}"
    if recorded.retired_versions:
        text += f"\nOld versions deleted (keeping the newest): {', '.join(map(str, recorded.retired_versions))}"
    return text


SPEC = ComponentSpec(
    run=run, params=Params, output=PushedModel, inputs={"model": Model, "evaluation": ModelEvaluation}, summary=summary
)
