"""TFDV's equi-width histograms, computed with numpy instead of a loop over protobuf buckets.

TFDV's basic statistics build each numeric feature's standard histogram from its quantiles
sketch at 100 times the quantiles histogram's resolution: with Sluice's 100 quantile
buckets, 10,000 buckets per feature and split. `quantiles_util.generate_equi_width_histogram`
first writes those into a protobuf Histogram, then walks it bucket by bucket in Python for
each of the ten equi-width buckets: about 35 ms per feature and split, 0.6 s of census's
StatisticsGen.

Here the same walk is done on numpy arrays: each equi-width bucket's count is the sum of
the same overlaps, in the same order (a sequential cumulative sum), over the same buckets,
so the histogram is the same to the bit. An input it does not expect (a bucket none of
TFDV's overlap cases describe) goes to TFDV's own function, which raises its own error.

It rebinds the function in `quantiles_util`, so it is installed only through
`sluice.beam.patches` (gated to the TFDV version it was tested with).
"""

from __future__ import annotations

import numpy as np

_original = None


def generate_equi_width_histogram(quantiles, cumulative_counts, finite_min, finite_max, num_buckets, num_pos_inf):
    """TFDV's `generate_equi_width_histogram`, on arrays (same arguments, same Histogram)."""
    from tensorflow_data_validation.utils import quantiles_util
    from tensorflow_metadata.proto.v0 import statistics_pb2

    result = statistics_pb2.Histogram()
    result.type = statistics_pb2.Histogram.STANDARD
    if not np.isfinite(finite_min) and not np.isfinite(finite_max):
        result.buckets.add(low_value=finite_min, high_value=finite_max, sample_count=cumulative_counts[-1])
        return result
    assert np.isfinite(finite_min)
    assert np.isfinite(finite_max)
    assert np.all(quantiles[:-1] <= quantiles[1:])
    stripped, stripped_counts, num_neg_inf = quantiles_util._strip_infinities(quantiles, cumulative_counts, finite_max, num_pos_inf)
    # TFDV stores these in protobuf doubles and reads them back: the same float64 values.
    lows, highs, weights = (np.asarray(array, dtype=np.float64) for array in bin_weights(stripped, stripped_counts))
    if finite_min == finite_max:
        boundaries = np.array([finite_min, finite_max])
    else:
        boundaries = np.linspace(finite_min, finite_max, num_buckets + 1)
        if not np.isfinite(boundaries).all():
            return result
    counts = _bucket_counts(lows, highs, weights, boundaries)
    if counts is None:
        tfdvs = _original if _original is not None else quantiles_util.generate_equi_width_histogram  # installed or not
        return tfdvs(quantiles, cumulative_counts, finite_min, finite_max, num_buckets, num_pos_inf)
    if num_neg_inf:
        result.buckets.add(low_value=float("-inf"), high_value=float("-inf"), sample_count=num_neg_inf)
    for index, count in enumerate(counts):
        result.buckets.add(low_value=boundaries[index], high_value=boundaries[index + 1], sample_count=count)
    if num_pos_inf:
        result.buckets.add(low_value=float("inf"), high_value=float("inf"), sample_count=num_pos_inf)
    return result


def bin_weights(boundaries, cum_bin_weights):
    """TFDV's `quantiles_util._get_bin_weights` (each quantile bucket's bounds and weight,
    duplicates sharing theirs), looping over runs of equal bounds rather than every bucket."""
    cum_bin_weights = cum_bin_weights.astype(np.float64)
    low_bounds, high_bounds = boundaries[:-1], boundaries[1:]
    bin_counts = np.diff(cum_bin_weights)
    size = low_bounds.size
    starts = np.flatnonzero(np.concatenate([[True], high_bounds[1:] != high_bounds[:-1]])) if size else np.array([], int)
    ends = np.append(starts[1:], size)
    for start, end in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist()):
        bin_counts[start:end] = bin_counts[start:end].sum() / (end - start)  # the same slice sum TFDV takes
    if size:
        differs = np.flatnonzero((low_bounds != low_bounds[0]) | (high_bounds != high_bounds[0]))
        same = int(differs[0]) if differs.size else size
        if same > 0:
            bin_counts[0:same] += cum_bin_weights[0] / same
    return low_bounds, high_bounds, bin_counts


def _bucket_counts(lows, highs, weights, boundaries) -> list | None:
    """Each equi-width bucket's count as TFDV's walk sums it, or None where its overlap
    cases do not cover a bucket."""
    counts = []
    start = 0
    span = highs - lows
    for index in range(boundaries.size - 1):
        low, high = boundaries[index], boundaries[index + 1]
        lo, hi, width, weight = lows[start:], highs[start:], span[start:], weights[start:]
        point = (hi == lo) & (lo == low)
        # TFDV's cases in its order: the first that holds decides (`_overlap`).
        cases = [
            point if index == 0 else np.zeros_like(point),  # a point on the first bucket's left edge
            point,  # a point on a later bucket's left edge: precedes
            hi < low,  # precedes
            lo > high,  # follows
            (low <= lo) & (high >= hi),  # contained
            low <= lo,  # overlaps on the left
            high >= hi,  # overlaps on the right
            (low > lo) & (high < hi),  # holds the interval
        ]
        with np.errstate(divide="ignore", invalid="ignore"):
            overlaps = [1.0, 0.0, 0.0, 0.0, 1.0, (high - lo) / width, (hi - low) / width, (high - low) / width]
            case = np.select(cases, list(range(len(cases))), default=-1)
            overlap = np.select(cases, [np.broadcast_to(value, lo.shape) for value in overlaps], default=np.nan)
        follows = np.flatnonzero(case == 3)
        end = follows[0] if follows.size else lo.size  # the walk stops at the first bucket that follows
        if (case[:end] == -1).any():
            return None
        precedes = np.flatnonzero((case[:end] == 1) | (case[:end] == 2))
        total = np.cumsum(overlap[:end] * weight[:end])
        counts.append(float(total[-1]) if end else 0)
        if precedes.size:
            start += int(precedes[-1])
    return counts


def install() -> None:
    global _original
    from tensorflow_data_validation.utils import quantiles_util

    if quantiles_util.generate_equi_width_histogram is not generate_equi_width_histogram:
        _original = quantiles_util.generate_equi_width_histogram
        quantiles_util.generate_equi_width_histogram = generate_equi_width_histogram
