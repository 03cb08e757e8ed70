"""Tuner: keras-tuner random search over the pipeline's search space, on transformed data.

Every trial's status is checked: keras-tuner records a failed trial and moves on, so a
search in which no trial succeeded fails here, with the trials' errors.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Mapping, Sequence

from sluice.artifacts import Artifact, ArtifactDraft
from sluice.errors import SluiceError

HYPERPARAMETERS_FILE = "best_hyperparameters.json"


class SearchFailed(SluiceError):
    """No trial of the search finished."""


@dataclasses.dataclass(frozen=True)
class Params:
    """Tuner's parameters.

    Args:
        model_fn: "module:function" building a compiled Keras model from (hp, ModelFeatures).
        label: the label's transformed feature name.
        max_trials: trials to run; 0 switches the search off and keeps the space's defaults.
        trial_steps: training steps per trial.
        batch_size: examples per training step.
        objective: the metric to optimise, measured on the eval split.
        seed: drives the oracle, shuffling and initialisation.
    """

    model_fn: str
    label: str
    max_trials: int = 4
    trial_steps: int = 300
    batch_size: int = 256
    objective: str = "val_loss"
    seed: int = 42


def load_hyperparameters(tuner: Artifact) -> dict:
    with open(tuner.file(HYPERPARAMETERS_FILE)) as handle:
        return json.load(handle)


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import keras
    import keras_tuner as kt

    from sluice.pipeline import load_object
    from sluice.training import model_features, split_dataset

    transform = inputs["transform"]
    features = model_features(transform, params.label)
    build = load_object(params.model_fn)
    keras.utils.set_random_seed(params.seed)

    if params.max_trials == 0:
        hyperparameters = kt.HyperParameters()
        build(hyperparameters, features)  # registers every hyperparameter at its default
        _write(output, hyperparameters.values, trials=[], searched=False)
        return

    direction = "min" if params.objective.endswith("loss") else "max"
    tuner = kt.RandomSearch(
        hypermodel=lambda hp: build(hp, features),
        objective=kt.Objective(params.objective, direction),
        max_trials=params.max_trials,
        seed=params.seed,
        directory=output.file("search"),
        project_name="trials",
        overwrite=True,
    )
    train = split_dataset(transform, "train", params.label, params.batch_size, shuffle=True, repeat=True, seed=params.seed)
    evaluation = split_dataset(transform, "eval", params.label, params.batch_size)
    try:
        tuner.search(train, validation_data=evaluation, epochs=1, steps_per_epoch=params.trial_steps, shuffle=False, verbose=0)
    except RuntimeError as error:  # keras-tuner gives up after several failed trials in a row
        raise SearchFailed(f"Tuner: the search stopped: {error}\n  {_trial_errors(tuner)}") from error

    trials = _trial_records(tuner)
    finished = [t for t in trials if t["status"] == "COMPLETED" and t["score"] is not None]
    if not finished:
        raise SearchFailed(f"Tuner: none of {len(trials)} trials finished:\n  {_trial_errors(tuner)}")
    (best,) = tuner.oracle.get_best_trials(1)
    _write(output, best.hyperparameters.values, trials=trials, searched=True)
    output.properties.update(objective=params.objective, best_score=best.score, best_trial=best.trial_id)


def _trial_records(tuner) -> list[dict]:
    return [
        {
            "trial_id": trial.trial_id,
            "status": str(trial.status),
            "score": trial.score,
            "hyperparameters": trial.hyperparameters.values,
            "error": trial.message,
        }
        for trial in tuner.oracle.trials.values()
    ]


def _trial_errors(tuner) -> str:
    lines = [f"trial {t['trial_id']} {t['status']}: {t['error']}" for t in _trial_records(tuner)]
    return "\n  ".join(lines) or "no trial ran"


def _write(output: ArtifactDraft, values: dict, trials: list, searched: bool) -> None:
    with open(output.file(HYPERPARAMETERS_FILE), "w") as handle:
        json.dump(values, handle, indent=2, sort_keys=True)
    with open(output.file("trials.json"), "w") as handle:
        json.dump(trials, handle, indent=2, default=str)
    output.properties.update(
        hyperparameters=values,
        searched=searched,
        trials=len(trials),
        completed_trials=sum(t["status"] == "COMPLETED" for t in trials),
    )
