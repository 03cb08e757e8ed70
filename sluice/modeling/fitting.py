"""Training, scoring and measuring a model of any family on a Transform artifact's splits.

Shared by the Tuner's trials and the Trainer, so a trial's score and the trained model's
come from the same code.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Any, Callable, Mapping

import numpy as np

from sluice.artifacts import Artifact
from sluice.modeling.families import is_forest
from sluice.modeling.metrics import task_metrics

_ONE_PASS_BATCH = 4096  # rows per call where the batch does not change the result: forests' one pass, scoring


@dataclasses.dataclass(frozen=True)
class Budget:
    """How long a neural network trains; decision forests train in one pass.

    Args:
        steps: the most training steps (batches) in all.
        batch_size: examples per step.
        eval_every_steps: steps between evaluations on the validation data.
        early_stopping_patience: evaluations without a lower validation loss before
            training stops; the best evaluation's weights are kept. 0 trains every step.
    """

    steps: int
    batch_size: int = 256
    eval_every_steps: int = 200
    early_stopping_patience: int = 3


def fit(model, train, validation, budget: Budget, seed: int, description: str = "training") -> dict[str, Any]:
    """Trains `model` on `train`; returns what the training did.

    Args:
        train: a function (batch_size, shuffle, repeat, seed) -> (features, label) dataset.
        validation: a finite (features, label) dataset, for early stopping.
        description: how the training shows in progress, e.g. "trainer: model 1 of 2 (dnn)".
    """
    from sluice import progress
    from sluice.beam.patches import install_model_patches

    install_model_patches()

    if is_forest(model):
        # Gradient boosting stops adding trees on the validation rows, as a network stops on
        # them, rather than on 10% it would carve out of the train rows; with patience 0
        # nothing stops on them (they may be the rows that score it), so it carves its own.
        boosting = type(model).__name__ == "GradientBoostedTreesModel"
        stop_on = validation if boosting and budget.early_stopping_patience else None
        with progress.task(description, unit="") as shown:
            model.fit(train(_ONE_PASS_BATCH, False, False, seed), validation_data=stop_on, verbose=0)
            shown.update(note="trained in one pass")
        return {"steps_run": 0, "trained_in_one_pass": True}
    import keras

    class ShowSteps(keras.callbacks.Callback):
        # Keras then calls it off the training loop, which need not wait for each step's logs.
        async_safe = True

        def on_train_batch_end(self, batch, logs=None):
            shown.advance()

    _build_state(model, train(budget.batch_size, False, False, seed))
    rounds_size = min(budget.eval_every_steps, budget.steps)
    rounds = -(-budget.steps // rounds_size)
    callbacks = [ShowSteps()]
    if budget.early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=budget.early_stopping_patience, restore_best_weights=True))
    with progress.task(description, total=rounds * rounds_size, unit="steps") as shown:
        history = model.fit(
            train(budget.batch_size, True, True, seed),
            steps_per_epoch=rounds_size,
            epochs=rounds,
            validation_data=validation,
            callbacks=callbacks,
            shuffle=False,
            verbose=0,
        )
        val_loss = history.history["val_loss"]
        kept = val_loss.index(min(val_loss)) if budget.early_stopping_patience else len(val_loss) - 1
        shown.update(note=f"val_loss {val_loss[kept]:.4f} at step {(kept + 1) * rounds_size}")
    return {"steps_run": len(val_loss) * rounds_size, "kept_weights_of_step": (kept + 1) * rounds_size}


def _build_state(model, batches) -> None:
    """Creates a compiled network's optimizer and metric variables before its first step.

    Without a distribution strategy, Keras's TensorFlow trainer creates them inside the
    first traced step, and TensorFlow then traces the step a second time: on the census
    Wide & Deep model that second trace costs seconds. Keras's own pre-build (what `fit`
    runs under a strategy) is used where this Keras has it; elsewhere the step is traced twice.
    """
    symbolic_build = getattr(model, "_symbolic_build", None)
    if symbolic_build is not None:
        symbolic_build(data_batch=next(iter(batches)))


def as_predictions(outputs) -> np.ndarray:
    """A model's outputs for a batch as one value per row (P(positive), or a regression's
    value), or for a multiclass model one row of class probabilities [rows, K]."""
    outputs = np.asarray(outputs)
    outputs = outputs.reshape(outputs.shape[0] if outputs.ndim else 1, -1)
    return outputs[:, 0] if outputs.shape[1] == 1 else outputs


def predict(model, dataset) -> tuple[np.ndarray, np.ndarray]:
    """(labels, predictions) of every row of a finite (features, label) dataset
    (`as_predictions`: P(positive), class probabilities [N, K] or values)."""
    labels, predictions = [], []
    # The model runs eagerly, at a fixed cost per call, so rows go in large batches rather
    # than the training batches (census's 3,240 eval rows in batches of 64: 51 calls, 1.6 s).
    for features, target in dataset.rebatch(_ONE_PASS_BATCH):
        predictions.append(as_predictions(model(features, training=False)))
        labels.append(target.numpy().reshape(-1))
    return np.concatenate(labels), np.concatenate(predictions)


def score(model, dataset, task: str = "binary") -> dict[str, float]:
    """The metrics of `task` (`sluice.modeling.metrics.TASK_METRICS`) of `model` on a finite dataset."""
    return task_metrics(task, *predict(model, dataset))


def parameter_count(model) -> int:
    """Trainable weights of a network; for a decision forest, its number of tree nodes."""
    if is_forest(model):
        return sum(1 for _ in model.make_inspector().iterate_on_nodes())
    return int(model.count_params())


def single_row_latency_ms(model, dataset, repeats: int = 30) -> float:
    """Median milliseconds for one row through the model as a traced function (as served)."""
    import tensorflow as tf

    features, _ = next(iter(dataset))
    one_row = {name: values[:1] for name, values in features.items()}
    call = tf.function(lambda inputs: model(inputs, training=False))
    for _ in range(3):
        call(one_row)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call(one_row)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def split_reader(transform: Artifact, split: str, label: str, keep: Callable | None = None):
    """A function (batch_size, shuffle, repeat, seed) -> dataset of one transformed split."""
    from sluice.modeling.datasets import split_dataset

    def read(batch_size: int, shuffle: bool, repeat: bool, seed: int | None):
        return split_dataset(transform, split, label, batch_size, shuffle=shuffle, repeat=repeat, seed=seed, keep=keep)

    return read


def train_and_score(
    build: Callable[[], Any],
    transform: Artifact,
    label: str,
    budget: Budget,
    seed: int,
    *,
    train_split: str = "train",
    validation_split: str = "eval",
    folds: int = 1,
    task: str = "binary",
) -> tuple[Any, Mapping[str, Any]]:
    """Builds, trains and scores a model; with `folds` > 1, K-fold over the train split.

    Holdout: trains on `train_split`, scores on `validation_split`. K-fold: the rows of
    `train_split` fall into `folds` folds by a hash of each row; each fold is scored by a
    model trained on the others, and the scores are averaged (their spread is kept).

    Returns (the last model trained, a record of its metrics, size and latency).
    """
    import keras

    if folds <= 1:
        keras.utils.set_random_seed(seed)
        model = build()
        validation = split_reader(transform, validation_split, label)(budget.batch_size, False, False, None)
        trained = fit(model, split_reader(transform, train_split, label), validation, budget, seed)
        metrics = score(model, validation, task)
        return model, {**_cost(model, validation), "metrics": metrics, **trained}

    from sluice.modeling.datasets import in_fold

    fold_metrics = []
    for fold in range(folds):
        keras.utils.set_random_seed(seed + fold)
        model = build()
        held_out = split_reader(transform, train_split, label, keep=in_fold(fold, folds, True))(budget.batch_size, False, False, None)
        fit(model, split_reader(transform, train_split, label, keep=in_fold(fold, folds, False)), held_out, budget, seed + fold)
        fold_metrics.append(score(model, held_out, task))
    names = [k for k, v in fold_metrics[0].items() if isinstance(v, float)]
    metrics = {name: float(np.mean([m[name] for m in fold_metrics])) for name in names}
    spread = {f"{name}_std": float(np.std([m[name] for m in fold_metrics])) for name in names}
    return model, {**_cost(model, held_out), "metrics": {**metrics, **spread}, "folds": fold_metrics}


def _cost(model, dataset) -> dict[str, Any]:
    return {"parameters": parameter_count(model), "latency_ms": single_row_latency_ms(model, dataset)}
