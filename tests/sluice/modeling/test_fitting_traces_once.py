"""A network's training step is traced once: its optimizer is built before the first step,
so TensorFlow does not trace the step a second time after creating variables in it."""

import numpy as np

from sluice.modeling import families
from sluice.modeling.features import ModelFeatures
from sluice.modeling.fitting import Budget, fit


def test_the_training_step_of_a_wide_deep_network_is_traced_once():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x, group = rng.normal(size=512).astype("float32"), rng.integers(0, 5, 512)
    y = ((x > 0) ^ (group == 3)).astype("int64")

    def train(batch_size, shuffle, repeat, seed):
        rows = tf.data.Dataset.from_tensor_slices(({"x": x, "group": group}, y))
        return (rows.repeat() if repeat else rows).batch(batch_size)

    features = ModelFeatures(numeric=("x",), categorical={"group": 5}, label="y")
    model = families.wide_deep(features, wide=("group",), units=8)
    traces = []
    step = model.train_step
    model.train_step = lambda data: traces.append(1) or step(data)  # Python runs only while tracing
    fit(model, train, train(128, False, False, 0), Budget(steps=20, batch_size=64, eval_every_steps=10, early_stopping_patience=0), seed=0)
    assert model.optimizer.iterations.numpy() == 20
    assert len(traces) == 1
