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
