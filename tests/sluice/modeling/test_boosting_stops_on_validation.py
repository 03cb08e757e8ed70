"""Gradient boosting stops adding trees on the validation rows it is given (as a network
stops on them), unless the budget's patience is 0."""

import numpy as np

from sluice.modeling import families
from sluice.modeling.features import ModelFeatures
from sluice.modeling.fitting import Budget, fit


def _rows(labels_flipped: bool, count: int, seed: int):
    import tensorflow as tf

    x = np.random.default_rng(seed).normal(size=count).astype("float32")
    y = (x > 0).astype("int64")
    return tf.data.Dataset.from_tensor_slices(({"x": x}, 1 - y if labels_flipped else y)).batch(256)


def test_boosting_stops_on_the_validation_rows_unless_patience_is_zero():
    features = ModelFeatures(numeric=("x",), categorical={}, label="y")
    train = lambda batch_size, shuffle, repeat, seed: _rows(False, 2000, 1)  # noqa: E731
    misleading = _rows(True, 500, 2)  # every label the other way: each added tree makes its loss worse

    def trees(patience: int) -> int:
        model = families.gradient_boosted_trees(features, num_trees=60)
        fit(model, train, misleading, Budget(steps=1, early_stopping_patience=patience), seed=1)
        return model.make_inspector().num_trees()

    assert trees(patience=3) < 20 < trees(patience=0)
