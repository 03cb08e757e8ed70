"""The census preprocessing_fn: full-pass statistics from train, applied to every row."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from pipelines.census.features import CATEGORICAL_FEATURE_KEYS, LABEL_KEY, NUMERIC_FEATURE_KEYS, POSITIVE_LABEL
from sluice.preprocessing import dense, hashed_cross, label_index

AGE_BUCKETS = 10
CROSS_BUCKETS = 1000
OOV_BUCKETS = 1


def preprocessing_fn(inputs: dict) -> dict:
    """Raw census features -> model features.

    Numerics are z-scored with the training mean and variance; categoricals become ids of
    a training vocabulary plus one out-of-vocabulary bucket, so a category first seen at
    serving time still has a place; age is also bucketized at training quantiles; the
    education x occupation pair is hashed into a cross.
    """
    outputs = {}
    for key in NUMERIC_FEATURE_KEYS:
        outputs[key] = tft.scale_to_z_score(tf.cast(dense(inputs[key], 0), tf.float32))

    categoricals = {key: dense(inputs[key], "") for key in CATEGORICAL_FEATURE_KEYS}
    for key, values in categoricals.items():
        # An unknown value ('?' in the source) arrives as "" and gets its own vocabulary entry.
        outputs[key] = tft.compute_and_apply_vocabulary(values, num_oov_buckets=OOV_BUCKETS, vocab_filename=key)

    outputs["age_bucket"] = tft.bucketize(tf.cast(dense(inputs["age"], 0), tf.float32), AGE_BUCKETS)
    outputs["education_x_occupation"] = hashed_cross(
        [categoricals["education"], categoricals["occupation"]], CROSS_BUCKETS
    )
    outputs[LABEL_KEY] = label_index(dense(inputs[LABEL_KEY], ""), POSITIVE_LABEL)
    return outputs
