"""The census preprocessing_fn: full-pass statistics from train, applied to every row."""

from __future__ import annotations

from pipelines.census.features import CATEGORICAL_FEATURE_KEYS, LABEL_KEY, POSITIVE_LABEL
from sluice import preprocessing as pp

AGE_BUCKETS = 10
CROSS_BUCKETS = 1000
OOV_BUCKETS = 1
LONG_TAILED = ("capital_gain", "capital_loss")
PLAIN_NUMERIC = ("age", "fnlwgt", "education_num", "hours_per_week")


def preprocessing_fn(inputs: dict) -> dict:
    """Raw census features -> model features.

    Numerics are z-scored with the training mean and variance; capital gains and losses,
    mostly zero with a long tail, are log-scaled first. Categoricals become ids of a
    training vocabulary; an unknown value ('?' in the source) is a category of its own,
    and values never seen in training share one out-of-vocabulary bucket, so a category
    first met at serving still has a place. Age is also bucketized at training quantiles, and
    education x occupation and native_country x occupation are hashed crosses.
    """
    outputs = {key: pp.z_score(inputs[key]) for key in PLAIN_NUMERIC}
    for key in LONG_TAILED:
        outputs[key] = pp.z_score(pp.log1p(inputs[key]))

    categoricals = {key: pp.impute_category(inputs[key]) for key in CATEGORICAL_FEATURE_KEYS}
    for key, values in categoricals.items():
        outputs[key] = pp.vocabulary(values, num_oov_buckets=OOV_BUCKETS, name=key)

    outputs["age_bucket"] = pp.bucketize_quantiles(inputs["age"], AGE_BUCKETS)
    outputs["education_x_occupation"] = pp.hashed_cross([categoricals["education"], categoricals["occupation"]], CROSS_BUCKETS)
    outputs["country_x_occupation"] = pp.hashed_cross([categoricals["native_country"], categoricals["occupation"]], CROSS_BUCKETS)
    outputs[LABEL_KEY] = pp.label_index(pp.dense(inputs[LABEL_KEY], ""), POSITIVE_LABEL)
    return outputs
