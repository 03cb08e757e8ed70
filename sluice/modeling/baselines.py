"""Trivial models every search result is shown beside, built like any family.

Both take (values, ModelFeatures, seed) like a pipeline's model_fn, so they train and
score through the same code as the trials.
"""

from __future__ import annotations

from typing import Mapping

from sluice.modeling import families
from sluice.modeling.features import ModelFeatures


def majority_class(values: Mapping, features: ModelFeatures, seed: int):
    """A model of one weight, the intercept: it learns the training share of positives and
    predicts it for every row, so its accuracy is the majority class's share."""
    import keras

    class Intercept(keras.layers.Layer):
        def build(self, input_shape):
            self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias")

        def call(self, any_feature):
            rows = keras.ops.reshape(keras.ops.cast(any_feature, "float32"), (-1, 1))
            return keras.ops.zeros_like(rows) + self.bias

    inputs = families.model_inputs(features)
    logit = Intercept(name="intercept")(next(iter(inputs.values())))
    model = keras.Model(inputs=inputs, outputs=keras.layers.Activation("sigmoid", name="probability")(logit), name="majority_class")
    return families.compile_binary(model, learning_rate=0.05)


def logistic_regression(values: Mapping, features: ModelFeatures, seed: int):
    """The `linear` family at its defaults."""
    return families.linear(features)
