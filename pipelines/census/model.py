"""The census model and its search space (keras-tuner hyperparameters with defaults)."""

from __future__ import annotations

import keras

from sluice.modeling import ModelFeatures


def build_model(hp, features: ModelFeatures) -> keras.Model:
    """A DNN over z-scored numerics and embeddings of every categorical id feature.

    With an empty HyperParameters, every choice takes its default: the model used when
    the search is switched off.
    """
    units = hp.Int("units", 32, 256, step=32, default=128)
    layers = hp.Int("layers", 1, 3, default=2)
    embedding_dim = hp.Choice("embedding_dim", [4, 8, 16], default=8)
    dropout = hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.1)
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=3e-3)

    inputs, parts = {}, []
    for name in features.numeric:
        inputs[name] = keras.Input(shape=(), name=name, dtype="float32")
        parts.append(keras.layers.Reshape((1,), name=f"{name}_column")(inputs[name]))
    for name, size in features.categorical.items():
        inputs[name] = keras.Input(shape=(), name=name, dtype="int64")
        parts.append(keras.layers.Embedding(size, min(embedding_dim, size), name=f"{name}_embedding")(inputs[name]))
    x = keras.layers.Concatenate()(parts)
    for index in range(layers):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{index}")(x)
        x = keras.layers.Dropout(dropout)(x)
    output = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)

    model = keras.Model(inputs=inputs, outputs=output)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    return model
