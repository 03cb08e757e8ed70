"""Reading a Transform artifact for training: model features and per-split datasets."""

from __future__ import annotations

from sluice.artifacts import Artifact
from sluice.modeling.features import ModelFeatures, transformed_dataset
from sluice.modeling.transform_graph import TransformGraph


def transform_output(transform: Artifact):
    import tensorflow_transform as tft

    return tft.TFTransformOutput(transform.uri)


def model_features(transform: Artifact, label: str, task: str = "binary") -> ModelFeatures:
    """The features a model of `task` reads; a multiclass or regression label is read once
    from the train split for its number of classes, or its mean and spread."""
    facts = {"task": task}
    if task != "binary":
        import numpy as np

        from sluice.modeling.tasks import transformed_label_values

        values = transformed_label_values(transform, label).astype(np.float64)
        if task == "multiclass":
            facts["classes"] = int(values.max()) + 1
        else:
            facts["label_mean"], facts["label_std"] = float(values.mean()), float(values.std()) or 1.0
    return ModelFeatures.from_transform_output(transform_output(transform), label, **facts)


def split_dataset(
    transform: Artifact,
    split: str,
    label: str,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int | None = None,
    repeat: bool = False,
    keep=None,
):
    """(features, label) batches of one transformed split (or the rows of it `keep` selects).

    A single pass over a whole split declares its length (from the artifact's row count),
    so Keras knows where an evaluation ends.
    """
    import tensorflow as tf

    spec = transform_output(transform).transformed_feature_spec()
    info = TransformGraph.of(transform).splits[split]
    dataset = transformed_dataset(
        transform.file(info.pattern), spec, label, batch_size, shuffle=shuffle, repeat=repeat, seed=seed, keep=keep
    )
    if not repeat and keep is None:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(-(-info.rows // batch_size)))
    return dataset


def in_fold(fold: int, folds: int, inside: bool):
    """A predicate on serialized records: in fold `fold` of `folds` (or, `inside` False, not).

    A row's fold is a hash of its bytes, so it is the same in every trial and every run.
    """
    import tensorflow as tf

    def keep(record):
        in_this_fold = tf.equal(tf.strings.to_hash_bucket_fast(record, folds), fold)
        return in_this_fold if inside else tf.logical_not(in_this_fold)

    return keep
