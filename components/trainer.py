"""Trainer: trains the tuned model on transformed data and exports it with the TFT graph.

The exported SavedModel (`serving_model/`) takes serialized raw tf.Example and applies
the transform graph itself, so it cannot be served with a different transformation than
it was trained with.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from sluice.artifacts import Artifact, ArtifactDraft

SERVING_MODEL_DIR = "serving_model"


@dataclasses.dataclass(frozen=True)
class Params:
    """Trainer's parameters.

    Args:
        model_fn: "module:function" building a compiled Keras model from (hp, ModelFeatures).
        label: the label's transformed feature name.
        train_steps: the most training steps (batches) in all.
        batch_size: examples per step.
        eval_every_steps: steps between evaluations on the eval split.
        early_stopping_patience: evaluations without a lower eval loss before training
            stops; the weights of the best evaluation are kept. 0 trains every step.
        seed: drives shuffling and initialisation.
    """

    model_fn: str
    label: str
    train_steps: int = 2000
    batch_size: int = 256
    eval_every_steps: int = 200
    early_stopping_patience: int = 3
    seed: int = 42


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import keras
    import keras_tuner as kt

    from components.tuner import load_hyperparameters
    from sluice.export import export_serving_model
    from sluice.pipeline import load_object
    from sluice.training import model_features, split_dataset

    transform = inputs["transform"]
    keras.utils.set_random_seed(params.seed)
    hyperparameters = kt.HyperParameters()
    for name, value in load_hyperparameters(inputs["hyperparameters"]).items():
        hyperparameters.Fixed(name, value)
    model = load_object(params.model_fn)(hyperparameters, model_features(transform, params.label))

    train = split_dataset(transform, "train", params.label, params.batch_size, shuffle=True, repeat=True, seed=params.seed)
    evaluation = split_dataset(transform, "eval", params.label, params.batch_size)
    steps_per_round = min(params.eval_every_steps, params.train_steps)
    callbacks = []
    if params.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping("val_loss", patience=params.early_stopping_patience, restore_best_weights=True)
        )
    history = model.fit(
        train,
        steps_per_epoch=steps_per_round,
        epochs=-(-params.train_steps // steps_per_round),
        validation_data=evaluation,
        callbacks=callbacks,
        shuffle=False,
        verbose=0,
    )
    val_loss = history.history["val_loss"]
    kept_round = val_loss.index(min(val_loss)) if params.early_stopping_patience else len(val_loss) - 1
    export_serving_model(model, transform.uri, params.label, output.file(SERVING_MODEL_DIR))
    output.properties.update(
        train_steps=params.train_steps,
        batch_size=params.batch_size,
        hyperparameters=hyperparameters.values,
        steps_run=len(val_loss) * steps_per_round,
        kept_weights_of_step=(kept_round + 1) * steps_per_round,
        metrics={name: float(values[kept_round]) for name, values in history.history.items()},
        serving_model=SERVING_MODEL_DIR,
    )
