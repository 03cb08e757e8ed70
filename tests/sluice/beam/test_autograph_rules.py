"""The `autograph_rules` patch: a forest and a network, each trained and exported in a fresh
process with the patch and in one with TensorFlow as shipped, predict the same; and the
shared census run's TF Transform layer, traced into a function over raw tf.Examples,
transforms them the same."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

TRAIN_AND_EXPORT = r"""
import json, sys
import numpy as np
import tensorflow as tf
from tensorflow.python.autograph.core import config
from sluice.modeling import families
from sluice.modeling.features import ModelFeatures
from sluice.modeling.fitting import Budget, fit

features = ModelFeatures(numeric=("x",), categorical={"c": 3}, label="y")
rng = np.random.default_rng(0)
x = rng.normal(size=400).astype("float32")
c = rng.integers(0, 3, size=400)
y = ((x + (c == 1)) > 0.5).astype("int64")

def train(batch_size, shuffle, repeat, seed):
    data = tf.data.Dataset.from_tensor_slices(({"x": x, "c": c}, y)).batch(batch_size)
    return data.repeat() if repeat else data

validation = tf.data.Dataset.from_tensor_slices(({"x": x[:50], "c": c[:50]}, y[:50])).batch(50)
rows = {"x": tf.constant(x[:20]), "c": tf.constant(c[:20])}
out = {}
for name, build in (
    ("forest", lambda: families.gradient_boosted_trees(features, num_trees=20, max_depth=3, seed=1)),
    ("network", lambda: families.wide_deep(features, wide=("c",))),
):
    tf.keras.utils.set_random_seed(1)  # before building: the initial weights come from it
    model = build()
    fit(model, train, validation, Budget(steps=20, batch_size=32, eval_every_steps=10), seed=1)
    module = tf.Module()
    module.model = model
    module.predict = tf.function(lambda rows: model(rows, training=False), input_signature=[{
        "x": tf.TensorSpec([None], tf.float32), "c": tf.TensorSpec([None], tf.int64)}])
    path = sys.argv[1] + "/" + name
    tf.saved_model.save(module, path)
    loaded = tf.saved_model.load(path)  # held: its functions reference its variables
    out[name] = np.asarray(loaded.predict(rows)).ravel().tolist()

# The transform layer as a served model traces it: raw tf.Examples in, transformed features out.
from bench.transform_layer_trace import transform_test_examples
_, out["transform"] = transform_test_examples(sys.argv[2], sys.argv[3])
out["rules"] = [str(rule) for rule in config.CONVERSION_RULES[:3]]
print("RESULT " + json.dumps(out, default=lambda v: v.decode() if isinstance(v, bytes) else str(v)))
"""


def trained(tmp_path, switch: str, transform_dir: str, examples_dir: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLUICE_LIBRARY_PATCHES": switch}
    (tmp_path / switch).mkdir()
    completed = subprocess.run(
        [sys.executable, "-c", TRAIN_AND_EXPORT, str(tmp_path / switch), transform_dir, examples_dir],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode in (0, -11, 139), completed.stderr[-3000:]
    [line] = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line[len("RESULT "):])


def test_models_trained_with_the_rules_predict_as_with_tensorflow_as_shipped(tmp_path, artifact):
    inputs = (artifact("transform").uri, str(Path(artifact("example_gen").uri) / "test"))
    patched = trained(tmp_path, "on", *inputs)
    pristine = trained(tmp_path, "off:autograph_rules", *inputs)
    assert patched["rules"] == [f"DoNotConvert rule for {library}" for library in ("tf_keras", "tensorflow_decision_forests", "tensorflow_transform")]
    assert "tf_keras" not in " ".join(pristine["rules"]) and "tensorflow_transform" not in " ".join(pristine["rules"])  # as shipped
    assert patched["forest"] == pristine["forest"]
    assert patched["network"] == pytest.approx(pristine["network"], abs=1e-6)
    assert len(patched["transform"]) > 5 and patched["transform"] == pristine["transform"]
