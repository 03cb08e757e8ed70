"""Exported SavedModels of every kind: a decision forest serves raw rows like its batch
path, and an ensemble averages its members inside one SavedModel."""

import glob

import numpy as np
import pytest

from components.evaluator import score_split
from sluice.modeling import families
from sluice.modeling.baselines import majority_class
from sluice.modeling.export import export_serving_model, load_serving_model, predict_raw, predict_transformed
from sluice.modeling.fitting import Budget, fit, split_reader
from sluice.modeling.datasets import model_features


def transformed_batch(transform, rows=64):
    features, _ = next(iter(split_reader(transform, "test", "income_bracket")(rows, False, False, None)))
    return features


def raw_test_examples(examples):
    """Every raw test row, serialized as a client sends it (no label)."""
    import tensorflow as tf

    records = tf.data.TFRecordDataset(sorted(glob.glob(examples.file("test", "data-*.tfrecord"))))
    serialized = []
    for record in records:
        example = tf.train.Example.FromString(record.numpy())
        del example.features.feature["income_bracket"]
        serialized.append(example.SerializeToString())
    return serialized


def constant_model(transform, probability):
    """The intercept-only model with its one weight set so it predicts `probability`."""
    model = majority_class({}, model_features(transform, "income_bracket"), seed=0)
    model.get_layer("intercept").bias.assign([np.log(probability / (1 - probability))])
    return model


def test_an_ensemble_serves_the_mean_of_its_members(artifact, tmp_path):
    transform = artifact("transform")
    members = [constant_model(transform, 0.2), constant_model(transform, 0.6)]
    export_serving_model(members, transform.uri, "income_bracket", str(tmp_path / "ensemble"))
    saved = load_serving_model(str(tmp_path / "ensemble"))
    np.testing.assert_allclose(predict_transformed(saved, transformed_batch(transform)), 0.4, atol=1e-6)
    np.testing.assert_allclose(predict_raw(saved, raw_test_examples(artifact("example_gen"))), 0.4, atol=1e-6)


def test_a_gradient_boosted_forest_exports_with_the_transform_graph(artifact, tmp_path):
    transform = artifact("transform")
    model = families.gradient_boosted_trees(model_features(transform, "income_bracket"), num_trees=20, max_depth=3, seed=1)
    fit(model, split_reader(transform, "train", "income_bracket"), None, Budget(steps=1), seed=1)
    export_serving_model([model], transform.uri, "income_bracket", str(tmp_path / "forest"))

    # The raw path parses and transforms each row inside the model; the batch path feeds
    # Transform's output. Beam keeps no row order: compare the sorted probabilities.
    raw = predict_raw(load_serving_model(str(tmp_path / "forest")), raw_test_examples(artifact("example_gen")))
    _, transformed = score_split(str(tmp_path / "forest"), transform, "test", "income_bracket", 128)
    assert raw.shape == transformed.shape == (artifact("example_gen").properties["splits"]["test"]["rows"],)
    np.testing.assert_allclose(np.sort(raw), np.sort(transformed), atol=1e-6)
    assert np.std(raw) > 1e-3 and ((raw > 0) & (raw < 1)).all()


def test_wide_deep_refuses_a_wide_feature_that_is_not_categorical(artifact):
    features = model_features(artifact("transform"), "income_bracket")
    with pytest.raises(ValueError, match="wide features \\['age'\\] are not categorical"):
        families.wide_deep(features, wide=["age", "education"])


def test_a_network_is_saved_as_its_weights_without_its_optimizer(artifact, tmp_path):
    import tensorflow as tf

    transform = artifact("transform")
    model = families.wide_deep(model_features(transform, "income_bracket"), wide=["education"], units=8)
    evaluation = split_reader(transform, "eval", "income_bracket")(64, False, False, None)
    fit(model, split_reader(transform, "train", "income_bracket"), evaluation, Budget(steps=3, batch_size=32, early_stopping_patience=0), seed=1)
    export_serving_model([model], transform.uri, "income_bracket", str(tmp_path / "network"))

    saved = tf.train.list_variables(str(tmp_path / "network" / "variables" / "variables"))
    names = [name for name, _ in saved if name.endswith("VARIABLE_VALUE")]
    assert len(names) == len(model.weights) and not any("optimizer" in name for name in names), names
    batch = transformed_batch(transform)
    expected = np.asarray(model({k: v for k, v in batch.items() if k in model.input}, training=False)).ravel()
    np.testing.assert_allclose(predict_transformed(load_serving_model(str(tmp_path / "network")), batch), expected, atol=1e-6)


def test_a_network_holding_a_lookup_table_is_saved_whole(artifact, tmp_path):
    import keras

    transform = artifact("transform")
    features = model_features(transform, "income_bracket")
    inputs = families.model_inputs(features)
    known = keras.layers.IntegerLookup(vocabulary=[1, 2, 3], output_mode="one_hot", name="known_education")(inputs["education"])
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(known))
    export_serving_model([model], transform.uri, "income_bracket", str(tmp_path / "lookup"))

    batch = transformed_batch(transform)
    expected = np.asarray(model({k: v for k, v in batch.items() if k in inputs}, training=False)).ravel()
    np.testing.assert_allclose(predict_transformed(load_serving_model(str(tmp_path / "lookup")), batch), expected, atol=1e-6)


def test_a_network_loads_without_tf_df_and_a_forest_with_it(artifact, tmp_path):
    import subprocess
    import sys

    transform = artifact("transform")
    export_serving_model([constant_model(transform, 0.3)], transform.uri, "income_bracket", str(tmp_path / "network"))
    forest = families.gradient_boosted_trees(model_features(transform, "income_bracket"), num_trees=5, max_depth=2, seed=1)
    fit(forest, split_reader(transform, "train", "income_bracket"), None, Budget(steps=1), seed=1)
    export_serving_model([forest], transform.uri, "income_bracket", str(tmp_path / "forest"))

    probe = (
        "import sys\n"
        "from sluice.modeling.export import load_serving_model\n"
        "load_serving_model(sys.argv[1])\n"  # a forest's fails unless TF-DF registered its ops
        "print('tensorflow_decision_forests' in sys.modules)\n"
        "import os; os._exit(0)\n"
    )
    imported = {}
    for name in ("network", "forest"):
        done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / name)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        imported[name] = done.stdout.strip().splitlines()[-1]
    assert imported == {"network": "False", "forest": "True"}
