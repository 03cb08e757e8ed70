"""Trivial models every search result is shown beside, built like any family.

Each takes (values, ModelFeatures, seed) like a pipeline's model_fn, so they train and
score through the same code as the trials, with the head of the features' task.
"""

from __future__ import annotations

from typing import Mapping

from sluice.modeling import families
from sluice.modeling.features import ModelFeatures

# The two baselines of each task, by the name they are reported under: the constant
# model first (majority class, or the mean), then the linear one.
BASELINES = {
    "binary": {"majority_class": "majority_class", "logistic_regression": "logistic_regression"},
    "multiclass": {"majority_class": "majority_class", "logistic_regression": "logistic_regression"},
    "regression": {"mean": "mean_predictor", "linear_regression": "linear_regression"},
}


def constant(values: Mapping, features: ModelFeatures, seed: int):
    """A model of intercepts only, one per output unit: it learns the training share of
    each class (predicting it for every row, so its accuracy is the majority class's
    share), or for a regression the training mean (where it starts)."""
    import keras

    width = features.outputs

    class Intercept(keras.layers.Layer):
        def build(self, input_shape):
            self.bias = self.add_weight(shape=(width,), initializer="zeros", name="bias")

        def call(self, any_feature):
            return keras.ops.expand_dims(self.bias, 0)  # [1, width]: one row, whatever the batch

    class EveryRow(keras.layers.Layer):
        # The head's output of the one row, copied to each row: computed once, so every row
        # gets the very same number (a head applied to a batch may round its rows apart).
        def call(self, one_row, any_feature):
            return keras.ops.broadcast_to(one_row, (keras.ops.shape(any_feature)[0], width))

    inputs = families.model_inputs(features)
    any_feature = next(iter(inputs.values()))
    one_row = families.head(Intercept(name="intercept")(any_feature), features)
    name = "mean" if features.task == "regression" else "majority_class"
    model = keras.Model(inputs=inputs, outputs=EveryRow(name="every_row")(one_row, any_feature), name=name)
    return families.compile_for(model, features.task, learning_rate=0.05)


majority_class = mean_predictor = constant


def logistic_regression(values: Mapping, features: ModelFeatures, seed: int):
    """The `linear` family at its defaults (least squares for a regression)."""
    return families.linear(features)


linear_regression = logistic_regression
