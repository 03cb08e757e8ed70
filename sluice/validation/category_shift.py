"""Skew and drift of text categories: the L-infinity distance of their shares, aware of sample size.

TFDV's L-infinity distance is the largest difference between a category's share on the
two sides. With a few hundred rows, sampling noise alone moves a common category's share
by several points: two random halves of one 300-row file differ by 0.1 (the usual
threshold) about once in a few hundred comparisons of a 50% category. Here the distance
is measured the same way, from each side's category counts in the statistics, and each
category's threshold is raised to what noise reaches once in a million comparisons:
z * sqrt(p (1 - p) (1/n + 1/m)), p its pooled share. The finding reports the category
furthest beyond (or closest to) its threshold, with its two shares: a rare category that
appears from nowhere counts for more than a common one that moved as much by chance.
"""

from __future__ import annotations

import math
from typing import Iterable

from sluice.validation.findings import Finding, feature_statistics, raised_note

NOISE_LEVEL = 1e-6
MEASURE = "L-infinity distance"


def category_counts(stats) -> tuple[dict[str, float], float] | None:
    """(value -> count, values counted) of a text feature's statistics, or None."""
    if stats is None or not stats.HasField("string_stats"):
        return None
    string_stats = stats.string_stats
    counts = {b.label: b.sample_count for b in string_stats.rank_histogram.buckets}
    if not counts:
        counts = {v.value: v.frequency for v in string_stats.top_values}
    present = float(string_stats.common_stats.num_non_missing)
    return (counts, present) if present > 0 else None


def noise_allowance(pooled_share: float, n: float, m: float, level: float = NOISE_LEVEL) -> float:
    """The share difference of one category that two samples of n and m values from one population exceed with probability `level`."""
    from scipy.stats import norm

    z = float(norm.isf(level / 2))
    return z * math.sqrt(max(pooled_share * (1 - pooled_share), 0.0) * (1 / n + 1 / m))


def compared_categories(schema, comparator_field: str) -> list[str]:
    """Text features whose skew or drift comparator asks for L-infinity."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    return [
        f.name for f in schema.feature if f.type == schema_pb2.BYTES and getattr(f, comparator_field).HasField("infinity_norm")
    ]


def category_shift_findings(
    training, other, schema, check: str, split: str, compared_with: str, warn_only: Iterable[str] = ()
) -> list[Finding]:
    """One finding per text feature with an L-infinity comparator (`training`: the reference side)."""
    field = "skew_comparator" if check == "skew" else "drift_comparator"
    warn = set(warn_only)
    thresholds = {f.name: getattr(f, field).infinity_norm.threshold for f in schema.feature}
    findings = []
    for name in compared_categories(schema, field):
        base, current = category_counts(feature_statistics(training, name)), category_counts(feature_statistics(other, name))
        if base is None or current is None:
            continue
        (base_counts, n), (current_counts, m) = base, current
        judged = []  # (excess over its threshold, value, shares, threshold) per category
        for value in set(base_counts) | set(current_counts):
            p, q = base_counts.get(value, 0.0) / n, current_counts.get(value, 0.0) / m
            pooled = (base_counts.get(value, 0.0) + current_counts.get(value, 0.0)) / (n + m)
            threshold = max(thresholds[name], noise_allowance(pooled, n, m))
            judged.append((abs(p - q) - threshold, value, (p, q), threshold))
        _, value, (p, q), threshold = max(judged)
        raised = raised_note(thresholds[name], threshold, n, m)
        detail = f" at {value!r} ({p:.1%} in {compared_with}, {q:.1%} here; threshold {threshold:.4g}{raised})"
        findings.append(Finding.measured(check, split, name, MEASURE, abs(p - q), threshold, detail, warn, compared_with))
    return findings


def left_to_tfdv(schema):
    """A copy of the schema without the comparisons Sluice measures itself (numeric divergence,
    text L-infinity), for TFDV to measure the rest (integer categories, say)."""
    from sluice.validation.numeric_shift import compared_numerics

    copy = type(schema)()
    copy.CopyFrom(schema)
    for field in ("skew_comparator", "drift_comparator"):
        numeric, text = set(compared_numerics(copy, field)), set(compared_categories(copy, field))
        for feature in copy.feature:
            if feature.name in numeric:
                getattr(feature, field).ClearField("jensen_shannon_divergence")
            if feature.name in text:
                getattr(feature, field).ClearField("infinity_norm")
    return copy
