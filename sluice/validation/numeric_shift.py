"""Skew and drift of numeric features, measured on quantile buckets of the training data.

TFDV's Jensen-Shannon divergence on numerics compares its standard histograms: ten
equal-width buckets from each side's own minimum to maximum. One outlier stretches them:
a 1,710-mile trip in training against 191 miles at most in serving puts nearly every
training value in the first bucket and spreads serving over all ten, and two random
halves of one file differ by a divergence of 0.7. Here the buckets are the training
data's deciles, so one extreme value moves one bucket's edge, not the whole picture.

Each side's share of every bucket is read from its own QUANTILES histogram in the
statistics (TFDV weights its buckets so a repeated value keeps its exact count; an edge
inside a bucket takes a linear share of it). The threshold is the schema's
`jensen_shannon_divergence` threshold, raised when the samples are small to the
divergence that sampling noise alone exceeds once in a million comparisons: for
proportions p, q from n and m values, JSD ~= chi-square(buckets - 1) * (1/n + 1/m) / (8 ln 2)
bits. Few rows can then only show a large difference, never a noisy one.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from sluice.validation.findings import Finding, feature_statistics, raised_note

QUANTILE_BUCKETS = 10
NOISE_LEVEL = 1e-6
MEASURE = "Jensen-Shannon divergence"


def _quantiles_histogram(stats):
    if stats is None or not stats.HasField("num_stats"):
        return None
    histogram = next((h for h in stats.num_stats.histograms if h.type == h.QUANTILES), None)
    if histogram is None or not histogram.buckets or sum(b.sample_count for b in histogram.buckets) <= 0:
        return None
    return histogram


def cumulative_share(histogram, x: float) -> float:
    """The share of values <= x, from a quantiles histogram."""
    total = below = 0.0
    for bucket in histogram.buckets:
        total += bucket.sample_count
        if bucket.high_value <= x:
            below += bucket.sample_count
        elif bucket.low_value < x:  # x inside the bucket: a linear share of it
            below += bucket.sample_count * (x - bucket.low_value) / (bucket.high_value - bucket.low_value)
    return below / total


def training_edges(histogram, buckets: int = QUANTILE_BUCKETS) -> list[float]:
    """Distinct upper edges of the training data's quantile buckets (deciles by default).

    The buckets are (-inf, e1], (e1, e2], ..., (ek, inf); a value repeated across several
    deciles (mostly zeros, say) yields one edge, so it is one bucket of its true share.
    """
    counts = np.array([b.sample_count for b in histogram.buckets], float)
    cumulative = np.cumsum(counts) / counts.sum()
    highs = [b.high_value for b in histogram.buckets]
    edges = []
    for k in range(1, buckets):
        edge = highs[min(int(np.searchsorted(cumulative, k / buckets - 1e-9)), len(highs) - 1)]
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


def bucket_shares(histogram, edges: Sequence[float]) -> np.ndarray:
    """Each side's share of the buckets (-inf, e1], ..., (ek, inf)."""
    cumulative = [0.0, *(cumulative_share(histogram, e) for e in edges), 1.0]
    return np.clip(np.diff(cumulative), 0.0, None)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits (0 for equal shares, 1 for disjoint ones)."""
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a):
        inside = a > 0
        return float(np.sum(a[inside] * np.log2(a[inside] / m[inside])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def noise_threshold(n: float, m: float, buckets: int, level: float = NOISE_LEVEL) -> float:
    """The divergence two samples of n and m values from one distribution exceed with probability `level`."""
    from scipy.stats import chi2

    if n <= 0 or m <= 0:
        return math.inf
    return float(chi2.isf(level, max(buckets - 1, 1)) * (1 / n + 1 / m) / (8 * math.log(2)))


def compared_numerics(schema, comparator_field: str) -> list[str]:
    """Numeric features whose skew or drift comparator asks for Jensen-Shannon divergence."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    names = []
    for feature in schema.feature:
        numeric = feature.type == schema_pb2.FLOAT or (feature.type == schema_pb2.INT and not feature.int_domain.is_categorical)
        if numeric and getattr(feature, comparator_field).HasField("jensen_shannon_divergence"):
            names.append(feature.name)
    return names


def numeric_shift_findings(
    training, other, schema, check: str, split: str, compared_with: str, warn_only: Iterable[str] = ()
) -> list[Finding]:
    """One finding per numeric feature with a divergence comparator, measured on training deciles.

    `training` is the reference side (train split, or the previous span for drift);
    `other` is the serving split or the new span. Features one side lacks are left to the
    schema check, which names a dropped column.
    """
    field = "skew_comparator" if check == "skew" else "drift_comparator"
    warn = set(warn_only)
    thresholds = {f.name: getattr(f, field).jensen_shannon_divergence.threshold for f in schema.feature}
    findings = []
    for name in compared_numerics(schema, field):
        base_stats, other_stats = feature_statistics(training, name), feature_statistics(other, name)
        base, current = _quantiles_histogram(base_stats), _quantiles_histogram(other_stats)
        if base is None or current is None:
            continue
        edges = training_edges(base)
        value = jensen_shannon(bucket_shares(base, edges), bucket_shares(current, edges))
        n = base_stats.num_stats.common_stats.num_non_missing
        m = other_stats.num_stats.common_stats.num_non_missing
        threshold = max(thresholds[name], noise_threshold(n, m, len(edges) + 1))
        detail = f" on {len(edges) + 1} training quantile buckets (threshold {threshold:.4g}{raised_note(thresholds[name], threshold, n, m)})"
        findings.append(Finding.measured(check, split, name, MEASURE, value, threshold, detail, warn, compared_with))
    return findings
