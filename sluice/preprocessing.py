"""Helpers for `preprocessing_fn` authors, on top of tf.Transform.

Full-pass helpers compute their statistics once, on the analyzed (training) split, and
bake them into the transform graph as constants; instance-level helpers use no
statistics. Either way the SavedModel applies exactly the same graph at serving.
Integer outputs record their number of ids in the transformed schema, so a model can be
built from that schema alone (`sluice.modeling.features.ModelFeatures`).

Inputs are raw features as TFT gives them: dense [batch, 1] tensors, or SparseTensors for
features that may be missing; `dense` turns either into a rank-1 tensor.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_transform import schema_inference

MISSING_CATEGORY = "__missing__"


def dense(feature, default_value) -> tf.Tensor:
    """A rank-1 tensor from a raw feature, dense [batch, 1] or sparse when it may be missing.

    Missing values (absent from a tf.Example) become `default_value`.
    """
    if isinstance(feature, tf.SparseTensor):
        shaped = tf.SparseTensor(feature.indices, feature.values, [feature.dense_shape[0], 1])
        feature = tf.sparse.to_dense(shaped, default_value=default_value)
    return tf.reshape(feature, [-1])


def _present(feature) -> tuple[tf.Tensor, tf.Tensor]:
    """(values as rank-1 tensor with a placeholder where missing, mask of present rows)."""
    if isinstance(feature, tf.SparseTensor):
        shaped = tf.SparseTensor(feature.indices, tf.ones_like(feature.values, tf.bool), [feature.dense_shape[0], 1])
        mask = tf.reshape(tf.sparse.to_dense(shaped, default_value=False), [-1])
        placeholder = "" if feature.dtype == tf.string else tf.zeros([], feature.dtype)
        return dense(feature, placeholder), mask
    values = tf.reshape(feature, [-1])
    return values, tf.ones_like(values, tf.bool)


def _record_ids(ids: tf.Tensor, count) -> tf.Tensor:
    schema_inference.set_tensor_schema_override(ids, tf.constant(0, tf.int64), tf.cast(count, tf.int64) - 1)
    return ids


# Numbers -----------------------------------------------------------------------------


def z_score(x) -> tf.Tensor:
    """(x - mean) / standard deviation, both from the training split."""
    return tft.scale_to_z_score(tf.cast(dense(x, 0), tf.float32))


def min_max(x, output_min: float = 0.0, output_max: float = 1.0) -> tf.Tensor:
    """x scaled so the training minimum and maximum map to output_min and output_max."""
    return tft.scale_by_min_max(tf.cast(dense(x, 0), tf.float32), output_min, output_max)


def log1p(x) -> tf.Tensor:
    """log(1 + x) for x >= 0 (negative values count as 0): tames long right tails."""
    return tf.math.log1p(tf.maximum(tf.cast(dense(x, 0), tf.float32), 0.0))


def clip(x, low: float, high: float) -> tf.Tensor:
    """x limited to [low, high]."""
    return tf.clip_by_value(tf.cast(dense(x, 0), tf.float32), low, high)


def clip_to_quantiles(x, lower: float = 0.01, upper: float = 0.99, resolution: int = 100) -> tf.Tensor:
    """x limited to its training `lower` and `upper` quantiles (e.g. 1% and 99%)."""
    values = tf.cast(dense(x, 0), tf.float32)
    boundaries = tf.reshape(tft.quantiles(values, num_buckets=resolution, epsilon=1.0 / (10 * resolution)), [-1])
    low = boundaries[max(int(round(lower * resolution)) - 1, 0)]
    high = boundaries[min(int(round(upper * resolution)) - 1, resolution - 2)]
    return tf.clip_by_value(values, low, high)


def bucketize(x, boundaries: Sequence[float]) -> tf.Tensor:
    """Bucket ids by fixed boundaries: 0 below the first, len(boundaries) above the last."""
    values = tf.cast(dense(x, 0), tf.float32)
    ids = tf.cast(tf.raw_ops.Bucketize(input=values, boundaries=[float(b) for b in boundaries]), tf.int64)
    return _record_ids(ids, len(boundaries) + 1)


def bucketize_quantiles(x, num_buckets: int) -> tf.Tensor:
    """Bucket ids by training quantiles: about as many training rows in each bucket."""
    return tft.bucketize(tf.cast(dense(x, 0), tf.float32), num_buckets)


def quantile_bucket_ids(x, num_buckets: int) -> tf.Tensor:
    """Bucket ids by training quantiles of the present values (0 .. num_buckets - 1), and
    `num_buckets` where the value is missing: a bucket of its own, not a guessed one."""
    values, present = _present(x)
    values = tf.cast(values, tf.float32)
    boundaries = tft.quantiles(tf.boolean_mask(values, present), num_buckets, epsilon=min(1.0 / num_buckets, 0.01))
    ids = tf.where(present, tft.apply_buckets(values, boundaries), tf.constant(num_buckets, tf.int64))
    return _record_ids(ids, num_buckets + 1)


def location_cross(latitude, longitude, num_buckets: int, hash_buckets: int) -> tf.Tensor:
    """A grid cell id of a place: latitude and longitude each cut in `num_buckets` training
    quantile buckets (`quantile_bucket_ids`), the two bucket ids crossed and hashed into
    `hash_buckets` ids. Beside the z-scored numbers, it lets any model learn what a
    neighbourhood says, which neither coordinate says alone."""
    return hashed_cross([quantile_bucket_ids(latitude, num_buckets), quantile_bucket_ids(longitude, num_buckets)], hash_buckets)


def impute_mean(x) -> tf.Tensor:
    """x, with missing values replaced by the training mean of the present ones."""
    values, present = _present(x)
    values = tf.cast(values, tf.float32)
    mean = tft.mean(tf.boolean_mask(values, present))
    return tf.where(present, values, mean)


def impute_median(x) -> tf.Tensor:
    """x, with missing values replaced by the training median of the present ones."""
    values, present = _present(x)
    values = tf.cast(values, tf.float32)
    median = tf.reshape(tft.quantiles(tf.boolean_mask(values, present), num_buckets=2, epsilon=0.001), [-1])[0]
    return tf.where(present, values, median)


def pca(features: Sequence, output_dim: int) -> tf.Tensor:
    """The first `output_dim` principal components of z-scored numerics, from training data.

    Returns a [batch, output_dim] tensor; `tf.unstack(..., axis=1)` gives one feature each.
    Fill missing inputs with a constant (`dense(x, 0.0)`): with `impute_mean` underneath,
    the analysis needs three passes, which Beam's DirectRunner on this stack does not
    finish ("watermark-pending bundles did not execute").
    """
    matrix = tf.stack([z_score(f) for f in features], axis=1)
    components = tft.pca(matrix, output_dim=output_dim, dtype=tf.float32)
    return tf.matmul(matrix, components)


def missing_indicator(x) -> tf.Tensor:
    """1 where the raw feature is missing, else 0: an id feature, so a model can learn what
    a missing value says (imputation alone hides it)."""
    _, present = _present(x)
    return _record_ids(tf.cast(tf.logical_not(present), tf.int64), 2)


# Times -------------------------------------------------------------------------------


def _days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), int64."""
    year = year - tf.cast(month <= 2, tf.int64)
    era = tf.math.floordiv(year, 400)
    year_of_era = year - era * 400
    day_of_year = tf.math.floordiv(153 * (month + tf.where(month > 2, tf.constant(-3, tf.int64), tf.constant(9, tf.int64))) + 2, 5) + day - 1
    day_of_era = year_of_era * 365 + tf.math.floordiv(year_of_era, 4) - tf.math.floordiv(year_of_era, 100) + day_of_year
    return era * 146097 + day_of_era - 719468


def _month_from_days(days):
    """The month (1-12) of a count of days since 1970-01-01 (H. Hinnant's civil_from_days)."""
    z = days + 719468
    day_of_era = z - tf.math.floordiv(z, 146097) * 146097
    year_of_era = tf.math.floordiv(
        day_of_era - tf.math.floordiv(day_of_era, 1460) + tf.math.floordiv(day_of_era, 36524) - tf.math.floordiv(day_of_era, 146096), 365
    )
    day_of_year = day_of_era - (365 * year_of_era + tf.math.floordiv(year_of_era, 4) - tf.math.floordiv(year_of_era, 100))
    shifted_month = tf.math.floordiv(5 * day_of_year + 2, 153)
    return tf.where(shifted_month < 10, shifted_month + 3, shifted_month - 9)


def seconds_since_epoch(x) -> tf.Tensor:
    """Unix seconds (int64) of timestamps: numbers already in seconds, or ISO 8601 strings
    ("2024-05-17", "2024-05-17T13:45:00", "2024-05-17 13:45"; a zone suffix is ignored: the
    time is taken as written). A missing value is 0 (1970-01-01); see `missing_indicator`."""
    if x.dtype != tf.string:
        return tf.cast(dense(x, 0), tf.int64)
    text = tf.strings.join([dense(x, "1970-01-01"), "T00:00:00"])  # a date alone gets midnight (a time without seconds: ":00")

    def number(start: int, length: int):
        return tf.strings.to_number(tf.strings.substr(text, start, length), tf.int64)

    days = _days_from_civil(number(0, 4), number(5, 2), number(8, 2))
    return days * 86400 + number(11, 2) * 3600 + number(14, 2) * 60 + number(17, 2)


def timestamp_features(x, prefix: str) -> dict[str, tf.Tensor]:
    """Derived features of a timestamp (see `seconds_since_epoch`), named `<prefix>_<part>`:
    hour, weekday (0 = Sunday) and month as ids; the hour on a circle (sin, cos), so
    23:00 sits next to 00:00; and the days since the epoch, z-scored, for a trend."""
    seconds = seconds_since_epoch(x)
    days = tf.math.floordiv(seconds, 86400)
    hour = tf.math.floordiv(seconds - days * 86400, 3600)
    angle = tf.cast(hour, tf.float32) * (2.0 * 3.141592653589793 / 24.0)
    return {
        f"{prefix}_hour": _record_ids(hour, 24),
        f"{prefix}_weekday": _record_ids(tf.math.floormod(days + 4, 7), 7),
        f"{prefix}_month": _record_ids(_month_from_days(days) - 1, 12),
        f"{prefix}_hour_sin": tf.sin(angle),
        f"{prefix}_hour_cos": tf.cos(angle),
        f"{prefix}_days": tft.scale_to_z_score(tf.cast(days, tf.float32)),
    }


# Categories and text -------------------------------------------------------------------


def integer_category(x, missing: str = MISSING_CATEGORY) -> tf.Tensor:
    """Integer codes (area codes, product ids) as strings, for `vocabulary` or `hashed`:
    their order means nothing. A missing value is a category of its own."""
    values, present = _present(x)
    return tf.where(present, tf.strings.as_string(values), missing)


def impute_category(x, missing: str = MISSING_CATEGORY) -> tf.Tensor:
    """Strings, with a missing value made an explicit category of its own."""
    return dense(x, missing)


def vocabulary(
    x, num_oov_buckets: int = 1, frequency_threshold: int | None = None, top_k: int = 100_000, name: str | None = None
) -> tf.Tensor:
    """Ids of a training vocabulary; values never seen in training (or past the `top_k` most
    frequent, or seen fewer than `frequency_threshold` times) share the OOV buckets.

    Without a frequency threshold the vocabulary is counted with a sketch that merges
    per-batch counts (exact while a feature has at most `top_k` distinct values), which
    is several times faster on Beam than counting each token as an element, as TFT's
    exact vocabulary does; a frequency threshold needs the exact one.
    """
    values = x if isinstance(x, tf.Tensor) and x.shape.rank == 1 else impute_category(x)
    if frequency_threshold is None:
        return tft.experimental.compute_and_apply_approximate_vocabulary(
            values, top_k=top_k, num_oov_buckets=num_oov_buckets, vocab_filename=name
        )
    return tft.compute_and_apply_vocabulary(
        values, top_k=top_k, num_oov_buckets=num_oov_buckets, frequency_threshold=frequency_threshold, vocab_filename=name
    )


def hashed(x, num_buckets: int) -> tf.Tensor:
    """Ids from a hash of each string: no vocabulary to keep, for high-cardinality values."""
    values = x if isinstance(x, tf.Tensor) and x.shape.rank == 1 else impute_category(x)
    return _record_ids(tft.hash_strings(values, num_buckets), num_buckets)


def hashed_cross(features: Sequence[tf.Tensor], num_buckets: int, separator: str = "_x_") -> tf.Tensor:
    """Hashes the joined values of two or three rank-1 features into `num_buckets` ids."""
    if not 2 <= len(features) <= 3:
        raise ValueError(f"hashed_cross crosses two or three features, not {len(features)}")
    joined = tf.strings.join([tf.strings.as_string(f) if f.dtype != tf.string else f for f in features], separator)
    return _record_ids(tft.hash_strings(joined, num_buckets), num_buckets)


def tfidf(text, vocab_size: int, ngram_range: tuple[int, int] = (1, 1)) -> tuple[tf.SparseTensor, tf.SparseTensor]:
    """Bag of words of a text column, weighted by tf-idf from training documents.

    Returns (term ids, weights) as SparseTensors [batch, terms]; the ids come from a
    training vocabulary of at most `vocab_size` terms (others share one extra id).
    """
    tokens = tf.strings.split(tf.strings.lower(dense(text, ""))).to_sparse()
    terms = tft.ngrams(tokens, ngram_range, " ") if ngram_range != (1, 1) else tokens
    ids = tft.compute_and_apply_vocabulary(terms, top_k=vocab_size, num_oov_buckets=1)
    return tft.tfidf(ids, vocab_size + 1)


def tfidf_columns(text, vocab_size: int, prefix: str) -> dict[str, tf.Tensor]:
    """tf-idf weights of the `vocab_size` most frequent training terms of a text column, one
    float feature per term (`<prefix>_tfidf_<i>`), so every model family can read them."""
    ids, weights = tfidf(text, vocab_size)
    width = vocab_size + 1  # the last id is every other term's
    batch = tf.shape(tf.reshape(dense(text, ""), [-1]), out_type=tf.int64)[0]
    matrix = tf.math.unsorted_segment_sum(
        tf.one_hot(ids.values, width) * tf.expand_dims(weights.values, 1), ids.indices[:, 0], tf.cast(batch, tf.int32)
    )
    return {f"{prefix}_tfidf_{i}": matrix[:, i] for i in range(vocab_size)}


def label_index(label: tf.Tensor, positive_value: str) -> tf.Tensor:
    """1 where `label` equals `positive_value`, else 0 (int64)."""
    return tf.cast(tf.equal(label, positive_value), tf.int64)
