"""Helpers for `preprocessing_fn` authors, on top of tf.Transform.

Each helper is instance-level or records what the model needs to know (the number of
buckets of an integer feature) in the transformed schema, so a model can be built from
that schema alone.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_transform import schema_inference


def dense(feature, default_value) -> tf.Tensor:
    """A rank-1 tensor from a raw feature, dense [batch, 1] or sparse when it may be missing.

    Missing values (absent from a tf.Example) become `default_value`.
    """
    if isinstance(feature, tf.SparseTensor):
        shaped = tf.SparseTensor(feature.indices, feature.values, [feature.dense_shape[0], 1])
        feature = tf.sparse.to_dense(shaped, default_value=default_value)
    return tf.reshape(feature, [-1])


def hashed_cross(features: Sequence[tf.Tensor], num_buckets: int, separator: str = "_x_") -> tf.Tensor:
    """Hashes the joined string values of two or more rank-1 features into `num_buckets` ids."""
    joined = tf.strings.join([tf.strings.as_string(f) if f.dtype != tf.string else f for f in features], separator)
    crossed = tft.hash_strings(joined, num_buckets)
    schema_inference.set_tensor_schema_override(crossed, tf.constant(0, tf.int64), tf.constant(num_buckets - 1, tf.int64))
    return crossed


def label_index(label: tf.Tensor, positive_value: str) -> tf.Tensor:
    """1 where `label` equals `positive_value`, else 0 (int64)."""
    return tf.cast(tf.equal(label, positive_value), tf.int64)
