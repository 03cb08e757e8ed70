"""Trainer: trains the best hyperparameters (and, for an ensemble, the next best) and
exports them with the TFT graph.

A decision forest trains in one pass, so the one its search trial kept is reused as is
(`components.tuner.component.kept_model`); networks train again with the full budget.

Every exported SavedModel takes serialized raw tf.Example and applies the transform graph
itself, so it cannot be served with a different transformation than it was trained with:
`serving_model/` holds the best trial's model; with `ensemble_size` > 1, `ensemble_model/`
holds the top trials' models averaged into one SavedModel with the same signatures. The
Evaluator decides which of the two is pushed.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from components.tuner.component import HyperParameters, kept_model, ranked_trials
from sluice.artifacts import Artifact, ArtifactDraft, ArtifactProperties
from sluice.contract import ComponentSpec
from sluice.modeling.transform_graph import TransformGraph

SERVING_MODEL_DIR = "serving_model"
ENSEMBLE_MODEL_DIR = "ensemble_model"


@dataclasses.dataclass(frozen=True)
class Params:
    """Trainer's parameters.

    Args:
        model_fn: "module:function" building a model from (values, ModelFeatures, seed).
        label: the label's transformed feature name.
        train_steps: the most training steps (batches) of a network in all.
        batch_size: examples per step.
        eval_every_steps: steps between evaluations on the eval split.
        early_stopping_patience: evaluations without a lower eval loss before training
            stops; the weights of the best evaluation are kept. 0 trains every step.
        ensemble_size: how many of the best distinct trials to average (1: no ensemble);
            trials rank by the Tuner's objective.
        seed: drives shuffling and initialisation.
        task: "binary", "multiclass" or "regression": the models' heads, losses, metrics
            and serving outputs.
        label_sources: raw columns the preprocessing_fn computes the label from and that
            are not features (e.g. "tips" and "fare" of a "tip above 20%" label): the
            exported model does not parse them, so serving rows need not carry them.
    """

    model_fn: str
    label: str
    train_steps: int = 2000
    batch_size: int = 256
    eval_every_steps: int = 200
    early_stopping_patience: int = 3
    ensemble_size: int = 1
    seed: int = 42
    task: str = "binary"
    label_sources: Sequence[str] = ()

    def __post_init__(self):
        from sluice.modeling.tasks import check_task

        check_task(self.task, "Trainer: task")


class Model(ArtifactProperties):
    """A Trainer artifact: the exported SavedModels and how their training went.

    Args:
        serving_model: the best trial's SavedModel directory, relative to the artifact.
        ensemble_model: the ensemble's, when there is one.
        hyperparameters: the best trial's values; metrics: its eval metrics.
        members: each trained model's hyperparameters, eval metrics and training record.
        task: what the models predict ("binary", "multiclass" or "regression").
    """

    serving_model: str
    ensemble_model: str | None = None
    train_steps: int
    batch_size: int
    hyperparameters: dict[str, Any]
    metrics: dict[str, Any]
    members: list[dict[str, Any]]
    task: str = "binary"

    def exported(self) -> dict[str, str]:
        """Name ("single", "ensemble") -> SavedModel directory, relative to the artifact."""
        return {"single": self.serving_model, **({"ensemble": self.ensemble_model} if self.ensemble_model else {})}


@dataclasses.dataclass(frozen=True)
class Member:
    """A model to train: its hyperparameters, and the model its trial kept, if any."""

    values: dict[str, Any]
    kept_model: str | None = None


def ensemble_members(tuner: Artifact, size: int) -> list[Member]:
    """The `size` best completed trials with distinct values, best first."""
    recorded = HyperParameters.of(tuner)
    best = recorded.best_trial
    members = [Member(recorded.hyperparameters, kept_model(tuner, best) if best else None)]
    for trial in ranked_trials(tuner):
        if len(members) >= size:
            break
        if all(trial["hyperparameters"] != member.values for member in members):
            members.append(Member(trial["hyperparameters"], kept_model(tuner, trial["trial_id"])))
    return members


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    from sluice.modeling.export import export_serving_model
    from sluice.modeling.fitting import Budget, fit, score, split_reader
    from sluice.pipeline import load_object
    from sluice.modeling.datasets import model_features
    from sluice.modeling.tasks import check_transformed_label

    transform = inputs["transform"]
    check_transformed_label(transform, params.label, params.task)
    features = model_features(transform, params.label, params.task)
    build = load_object(params.model_fn)
    budget = Budget(params.train_steps, params.batch_size, params.eval_every_steps, params.early_stopping_patience)
    evaluation = split_reader(transform, "eval", params.label)(params.batch_size, False, False, None)

    import keras

    models, records = [], []
    members = ensemble_members(inputs["hyperparameters"], params.ensemble_size)
    for rank, member in enumerate(members):
        shown_as = f"trainer: model {rank + 1} of {len(members)} ({member.values.get('family', 'model')})"
        if member.kept_model:
            model, trained = reuse_kept_model(member.kept_model, shown_as)
        else:
            keras.utils.set_random_seed(params.seed + rank)
            model = build(member.values, features, params.seed + rank)
            trained = fit(model, split_reader(transform, "train", params.label), evaluation, budget, params.seed + rank, shown_as)
        models.append(model)
        records.append({"hyperparameters": member.values, "eval_metrics": score(model, evaluation, params.task), **trained})

    export_serving_model(models[:1], transform.uri, params.label, output.file(SERVING_MODEL_DIR), params.task, params.label_sources)
    if len(models) > 1:
        export_serving_model(models, transform.uri, params.label, output.file(ENSEMBLE_MODEL_DIR), params.task, params.label_sources)
    Model(
        train_steps=params.train_steps,
        batch_size=params.batch_size,
        hyperparameters=records[0]["hyperparameters"],
        metrics=records[0]["eval_metrics"],
        members=records,
        serving_model=SERVING_MODEL_DIR,
        ensemble_model=ENSEMBLE_MODEL_DIR if len(models) > 1 else None,
        task=params.task,
    ).write(output)


def reuse_kept_model(model_dir: str, shown_as: str):
    """The model a trial kept (trained the same way the Trainer would), and its record."""
    from sluice import progress
    from sluice.modeling.export import load_serving_model

    with progress.task(shown_as, unit="") as shown:
        model = load_serving_model(model_dir)
        shown.update(note="reused the search's model (one pass over the same train split)")
    return model, {"steps_run": 0, "trained_in_one_pass": True, "reused_from_search": model_dir}


SPEC = ComponentSpec(
    run=run, params=Params, output=Model, inputs={"transform": TransformGraph, "hyperparameters": HyperParameters}
)
