"""Model families for tabular data, built from a Transform's features.

Each builder returns a model that takes the transformed features as a dict of rank-1
tensors and predicts the task of its `ModelFeatures`: P(positive) per row for "binary"
(a sigmoid unit, binary cross-entropy), the K class probabilities for "multiclass" (a
softmax, sparse categorical cross-entropy), the value for "regression" (a linear unit in
the label's units, mean squared error). So every family trains, evaluates and exports
the same way. The Keras families (`linear`, `dnn`, `wide_deep`) are compiled Keras 3
models trained by steps; the decision forests (`gradient_boosted_trees`,
`random_forest`) are TensorFlow Decision Forests models trained in one pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # features.py imports TensorFlow; the family lists must load without it (pipeline definitions)
    from sluice.modeling.features import ModelFeatures

KERAS_FAMILIES = ("linear", "dnn", "wide_deep")
FOREST_FAMILIES = ("gradient_boosted_trees", "random_forest")
# The op libraries beyond stock TensorFlow that a family's SavedModel needs wherever it is
# loaded (a stock TF Serving has none of them). The manifest of a pushed version reads the
# ops from the SavedModel itself (`sluice.serving.manifest`); this says it ahead of training.
SERVING_OPS = {family: ("tensorflow_decision_forests",) for family in FOREST_FAMILIES}


def loads_in_stock_tensorflow(family: str) -> bool:
    """Whether a SavedModel of `family` loads with TensorFlow alone (and in a stock TF Serving)."""
    return not SERVING_OPS.get(family)


def stock_serving_families() -> list[str]:
    """The families whose SavedModels a stock TensorFlow / TF Serving loads."""
    return [family for family in KERAS_FAMILIES + FOREST_FAMILIES if loads_in_stock_tensorflow(family)]


def is_forest(model) -> bool:
    """True for a TensorFlow Decision Forests model (trained in one pass, not by steps)."""
    return type(model).__module__.startswith("tensorflow_decision_forests")


def compile_for(model, task: str, learning_rate: float):
    """Compiles a Keras model with the loss and metrics of `task`."""
    import keras

    if task == "binary":
        loss, metrics = "binary_crossentropy", ["accuracy", keras.metrics.AUC(name="auc")]
    elif task == "multiclass":
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    elif task == "regression":
        loss, metrics = "mean_squared_error", [keras.metrics.RootMeanSquaredError(name="rmse")]
    else:
        raise ValueError(f"no model head for task {task!r}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)
    return model


def compile_binary(model, learning_rate: float):
    return compile_for(model, "binary", learning_rate)


def model_inputs(features: ModelFeatures) -> dict:
    import keras

    inputs = {name: keras.Input(shape=(), name=name, dtype="float32") for name in features.numeric}
    inputs.update({name: keras.Input(shape=(), name=name, dtype="int64") for name in features.categorical})
    return inputs


def _numeric_block(inputs: dict, features: ModelFeatures):
    import keras

    columns = [keras.layers.Reshape((1,), name=f"{name}_column")(inputs[name]) for name in features.numeric]
    return keras.layers.Concatenate(name="numerics")(columns) if len(columns) > 1 else columns[0]


def _stacked_ids(inputs: dict, sizes: Mapping[str, int]):
    """(ids, rows): the ids of the categoricals `sizes` names as one [batch, k] tensor, each
    feature's offset past the ids of those before it, and the rows they span. One embedding
    table then holds every feature's rows and one lookup reads them: a table per feature
    made the training step's graph many times larger, and tracing it took seconds."""
    import keras

    offsets = np.cumsum([0, *list(sizes.values())[:-1]])
    # Each column offset on its own: a vector added across columns becomes an int64 BiasAdd,
    # which TFLite cannot convert.
    ids = keras.ops.stack([inputs[name] + int(offset) if offset else inputs[name] for name, offset in zip(sizes, offsets)], axis=1)
    return ids, int(sum(sizes.values()))


def _linear_logit(inputs: dict, features: ModelFeatures, categorical: Sequence[str], prefix: str):
    """A weight per numeric and per id of each categorical: a logistic regression's logit."""
    import keras

    width = features.outputs
    terms = [keras.layers.Dense(width, name=f"{prefix}_numeric_weights")(_numeric_block(inputs, features))] if features.numeric else []
    if categorical:
        ids, rows = _stacked_ids(inputs, {name: features.categorical[name] for name in categorical})
        weights = keras.layers.Embedding(rows, width, name=f"{prefix}_categorical_weights")(ids)
        terms.append(keras.ops.sum(weights, axis=1))
    return keras.layers.Add(name=f"{prefix}_logit")(terms) if len(terms) > 1 else terms[0]


def _deep_logit(inputs: dict, features: ModelFeatures, units: int, layers: int, embedding_dim: int, dropout: float):
    import keras

    parts = [_numeric_block(inputs, features)] if features.numeric else []
    by_width: dict[int, dict[str, int]] = {}  # a feature with fewer ids than embedding_dim gets one dimension per id
    for name, size in features.categorical.items():
        by_width.setdefault(min(embedding_dim, size), {})[name] = size
    for width, sizes in sorted(by_width.items()):
        ids, rows = _stacked_ids(inputs, sizes)
        vectors = keras.layers.Embedding(rows, width, name=f"embeddings_{width}")(ids)
        parts.append(keras.layers.Reshape((len(sizes) * width,), name=f"embeddings_{width}_flat")(vectors))
    x = keras.layers.Concatenate(name="deep_inputs")(parts) if len(parts) > 1 else parts[0]
    for index in range(layers):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{index}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    return keras.layers.Dense(features.outputs, name="deep_logit")(x)


def head(logit, features: ModelFeatures):
    """The task's output on a logit of `features.outputs` units."""
    import keras

    if features.task == "multiclass":
        return keras.layers.Activation("softmax", name="probabilities")(logit)
    if features.task == "regression":
        return keras.layers.Rescaling(features.label_std, features.label_mean, name="prediction")(logit)
    return keras.layers.Activation("sigmoid", name="probability")(logit)


def _model(logit, inputs: dict, features: ModelFeatures, name: str, learning_rate: float):
    import keras

    return compile_for(keras.Model(inputs=inputs, outputs=head(logit, features), name=name), features.task, learning_rate)


def linear(features: ModelFeatures, *, learning_rate: float = 0.01):
    """A linear model over numerics and one-hot categoricals (a weight per id): logistic
    regression for a binary task, multinomial for multiclass, least squares for regression."""
    inputs = model_inputs(features)
    logit = _linear_logit(inputs, features, list(features.categorical), "linear")
    return _model(logit, inputs, features, "linear", learning_rate)


def dnn(features: ModelFeatures, *, units: int = 128, layers: int = 2, embedding_dim: int = 8, dropout: float = 0.1, learning_rate: float = 3e-3):
    """A feed-forward network over numerics and an embedding of each categorical."""
    inputs = model_inputs(features)
    logit = _deep_logit(inputs, features, units, layers, embedding_dim, dropout)
    return _model(logit, inputs, features, "dnn", learning_rate)


def wide_deep(
    features: ModelFeatures,
    *,
    wide: Sequence[str],
    units: int = 128,
    layers: int = 2,
    embedding_dim: int = 8,
    dropout: float = 0.1,
    learning_rate: float = 3e-3,
):
    """Wide & Deep: a linear part over the `wide` categoricals (e.g. buckets and crosses),
    memorising, plus a deep part over embeddings and numerics, generalising; their
    logits add up."""
    import dataclasses

    if not wide:
        raise ValueError("wide_deep: no wide features (the transform has no categorical feature); use dnn")
    missing = [name for name in wide if name not in features.categorical]
    if missing:
        raise ValueError(f"wide_deep: wide features {missing} are not categorical features of the transform")
    inputs = model_inputs(features)
    wide_logit = _linear_logit(inputs, dataclasses.replace(features, numeric=()), wide, "wide")
    deep_logit = _deep_logit(inputs, features, units, layers, embedding_dim, dropout)
    import keras

    logit = keras.layers.Add(name="wide_deep_logit")([wide_logit, deep_logit])
    return _model(logit, inputs, features, "wide_deep", learning_rate)


def _forest(model_class: str, features: ModelFeatures, **hyperparameters):
    """A TF-DF model over every transformed feature, numbers as numbers and ids as categories.

    Classification (binary or multi-class: TF-DF's own) answers each class's probability
    (P(class 1) alone for two classes); regression answers the value."""
    import tensorflow_decision_forests as tfdf

    usages = [tfdf.keras.FeatureUsage(name, semantic=tfdf.keras.FeatureSemantic.NUMERICAL) for name in features.numeric]
    usages += [tfdf.keras.FeatureUsage(name, semantic=tfdf.keras.FeatureSemantic.CATEGORICAL) for name in features.categorical]
    regression = features.task == "regression"
    if regression:
        hyperparameters.pop("winner_take_all", None)  # a classification setting
    task = tfdf.keras.Task.REGRESSION if regression else tfdf.keras.Task.CLASSIFICATION
    model = getattr(tfdf.keras, model_class)(features=usages, exclude_non_specified_features=True, verbose=0, task=task, **hyperparameters)
    model.compile(metrics=[] if regression else ["accuracy"])
    return model


def gradient_boosted_trees(
    features: ModelFeatures,
    *,
    num_trees: int = 300,
    max_depth: int = 6,
    shrinkage: float = 0.1,
    subsample: float = 1.0,
    min_examples: int = 5,
    seed: int = 42,
):
    """Gradient-boosted trees; stops adding trees when the loss on validation rows stops falling
    (those `fit` gives it, else 10% of its train rows)."""
    return _forest(
        "GradientBoostedTreesModel",
        features,
        num_trees=num_trees,
        max_depth=max_depth,
        shrinkage=shrinkage,
        subsample=subsample,
        min_examples=min_examples,
        random_seed=seed,
    )


def random_forest(features: ModelFeatures, *, num_trees: int = 300, max_depth: int = 16, min_examples: int = 5, seed: int = 42):
    """A random forest of independently grown trees, averaging its leaves' class shares
    (not one vote per tree, which makes many probabilities exactly 0 or 1)."""
    return _forest(
        "RandomForestModel",
        features,
        num_trees=num_trees,
        max_depth=max_depth,
        min_examples=min_examples,
        winner_take_all=False,
        random_seed=seed,
    )
