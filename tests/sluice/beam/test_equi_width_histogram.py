"""The equi-width histogram patch gives TFDV's own Histogram, to the bit, on numbers with
repeats, a single value, and infinities, at TFDV's and Sluice's resolutions."""

from __future__ import annotations

import numpy as np
import pytest

from sluice.beam.patches import equi_width_histogram as patch


def pristine_histogram():
    from tensorflow_data_validation.utils import quantiles_util

    installed = quantiles_util.generate_equi_width_histogram
    return patch._original if installed is patch.generate_equi_width_histogram else installed


def quantiles(kind: str, size: int, rng):
    values = {
        "continuous": lambda: rng.normal(size=size),
        "repeats": lambda: rng.integers(0, 5, size=size).astype(float),
        "one value": lambda: np.full(size, 3.0),
        "infinities": lambda: np.concatenate([rng.normal(size=max(size - 4, 1)), [-np.inf, -np.inf, np.inf, np.inf]]),
    }[kind]()
    return np.sort(values), np.cumsum(rng.integers(0, 50, size=values.size)).astype(float)


@pytest.mark.parametrize("kind", ["continuous", "repeats", "one value", "infinities"])
@pytest.mark.parametrize("size", [2, 11, 1001, 10001])
def test_the_histogram_is_tfdvs_to_the_bit(kind, size):
    from tensorflow_data_validation.utils import quantiles_util

    rng = np.random.default_rng(size)
    for _ in range(3):
        boundaries, counts = quantiles(kind, size, rng)
        finite = boundaries[np.isfinite(boundaries)]
        low, high = (finite.min(), finite.max()) if finite.size else (np.inf, -np.inf)
        positive_infinities = 3.0 * float((boundaries == np.inf).sum())
        for buckets in (1, 10):
            expected = pristine_histogram()(boundaries, counts, low, high, buckets, positive_infinities)
            found = patch.generate_equi_width_histogram(boundaries, counts, low, high, buckets, positive_infinities)
            assert found.SerializeToString() == expected.SerializeToString()
        expected_weights = quantiles_util._get_bin_weights(boundaries, counts)
        for mine, theirs in zip(patch.bin_weights(boundaries, counts), expected_weights):
            assert mine.tobytes() == theirs.tobytes()


def test_a_bucket_no_overlap_case_describes_is_left_to_tfdv():
    nan = np.array([np.nan])
    assert patch._bucket_counts(nan, nan, np.array([1.0]), np.array([0.0, 1.0])) is None
