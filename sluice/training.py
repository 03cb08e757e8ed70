"""Reading a Transform artifact for training: model features and per-split datasets."""

from __future__ import annotations

from sluice.artifacts import Artifact
from sluice.modeling import ModelFeatures, transformed_dataset


def transform_output(transform: Artifact):
    import tensorflow_transform as tft

    return tft.TFTransformOutput(transform.uri)


def model_features(transform: Artifact, label: str) -> ModelFeatures:
    return ModelFeatures.from_transform_output(transform_output(transform), label)


def split_dataset(
    transform: Artifact,
    split: str,
    label: str,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    repeat: bool = False,
):
    """(features, label) batches of one transformed split.

    A single pass declares its length (from the artifact's row count), so Keras knows where
    an evaluation ends.
    """
    import tensorflow as tf

    spec = transform_output(transform).transformed_feature_spec()
    info = transform.properties["splits"][split]
    dataset = transformed_dataset(transform.file(info["pattern"]), spec, label, batch_size, shuffle=shuffle, repeat=repeat, seed=seed)
    if not repeat:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(-(-info["rows"] // batch_size)))
    return dataset
