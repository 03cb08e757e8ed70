"""Numeric skew/drift on training quantile buckets: quiet on random splits of one file, even with
a huge outlier and few rows; loud on a real shift."""

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from sluice.validation.findings import comparison_findings
from sluice.validation.numeric_shift import (
    bucket_shares,
    jensen_shannon,
    noise_threshold,
    numeric_shift_findings,
    training_edges,
)
from sluice.validation.statistics import stats_options


def heavy_tailed(rows: int, seed: int) -> pd.DataFrame:
    """Trip-like data: lognormal miles and seconds, a few integer counts, one 1,710-mile outlier."""
    rng = np.random.default_rng(seed)
    miles = rng.lognormal(1.0, 1.0, rows)
    miles[rng.integers(rows)] = 1710.0
    return pd.DataFrame({
        "miles": miles,
        "seconds": rng.lognormal(6.5, 0.8, rows),
        "passengers": rng.choice([1, 1, 1, 1, 2, 2, 3, 5], rows),
        "tolls": np.where(rng.random(rows) < 0.93, 0.0, rng.lognormal(1.5, 0.5, rows)),
    })


def statistics(frame: pd.DataFrame):
    return tfdv.generate_statistics_from_dataframe(frame, stats_options())


def schema_with_divergence(train_stats, threshold: float = 0.1):
    schema = tfdv.infer_schema(train_stats)
    for feature in schema.feature:
        feature.skew_comparator.jensen_shannon_divergence.threshold = threshold
        feature.drift_comparator.jensen_shannon_divergence.threshold = threshold
    return schema


def split(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    inside = np.random.default_rng(seed).random(len(frame)) < share
    return frame[inside].reset_index(drop=True), frame[~inside].reset_index(drop=True)


@pytest.mark.parametrize("rows, share", [(4000, 0.8), (150, 0.7)])
def test_no_blocking_finding_on_random_splits_of_one_heavy_tailed_file(rows, share):
    frame = heavy_tailed(rows, seed=rows)
    for seed in range(2):
        train, other = split(frame, share, seed)
        train_stats, other_stats = statistics(train), statistics(other)
        schema = schema_with_divergence(train_stats)
        for check in ("skew", "drift"):
            findings = numeric_shift_findings(train_stats, other_stats, schema, check, "eval", "train")
            assert {f.feature for f in findings} == {"miles", "seconds", "passengers", "tolls"}
            assert not [f for f in findings if f.blocking], [str(f) for f in findings]


def test_the_outlier_alone_fooled_the_standard_histogram():
    """The false alarm the training deciles remove: TFDV's equal-width histograms, same data."""
    train, other = split(heavy_tailed(4000, seed=1), 0.8, seed=0)
    train.loc[0, "miles"] = 1710.0  # the outlier on the training side, as in the issue
    other = other[other["miles"] < 200].reset_index(drop=True)
    train_stats, other_stats = statistics(train), statistics(other)
    schema = schema_with_divergence(train_stats)
    anomalies = tfdv.validate_statistics(train_stats, schema, serving_statistics=statistics(other))
    standard = {f.feature: f for f in comparison_findings(anomalies, "skew", "eval", "train")}
    assert standard["miles"].value > 0.5 and standard["miles"].blocking
    (miles,) = [f for f in numeric_shift_findings(train_stats, other_stats, schema, "skew", "eval", "train") if f.feature == "miles"]
    assert miles.value < 0.01 and not miles.blocking


@pytest.fixture(scope="module")
def train_and_other():
    train, other = split(heavy_tailed(3000, seed=7), 0.7, seed=0)
    return statistics(train), other


@pytest.mark.parametrize("column, change", [("miles", lambda x: x * 5), ("seconds", lambda x: x * 3), ("passengers", lambda x: x + 1)])
def test_a_real_shift_blocks_and_names_the_feature(train_and_other, column, change):
    train_stats, other = train_and_other
    shifted = other.assign(**{column: change(other[column])})
    findings = numeric_shift_findings(train_stats, statistics(shifted), schema_with_divergence(train_stats), "skew", "serving", "train")
    blocking = [f for f in findings if f.blocking]
    assert [f.feature for f in blocking] == [column]
    assert blocking[0].value > blocking[0].threshold == 0.1 and "training quantile buckets" in blocking[0].description


def test_warn_only_keeps_a_shift_from_blocking(train_and_other):
    train_stats, other = train_and_other
    shifted = statistics(other.assign(miles=other["miles"] * 3))
    (miles,) = [
        f for f in numeric_shift_findings(train_stats, shifted, schema_with_divergence(train_stats), "drift", "train", "previous", ["miles"])
        if f.feature == "miles"
    ]
    assert miles.kind == "over threshold" and not miles.blocking


def test_few_values_raise_the_threshold_to_what_noise_reaches():
    assert noise_threshold(100_000, 100_000, 10) < 0.001
    assert noise_threshold(540, 300, 10) < 0.1  # census-sample sizes: the schema's 0.1 stands
    assert noise_threshold(30, 30, 10) > 0.5
    train, other = split(heavy_tailed(400, seed=5), 0.9, seed=0)
    train_stats = statistics(train)
    (finding,) = [
        f for f in numeric_shift_findings(train_stats, statistics(other), schema_with_divergence(train_stats), "skew", "serving", "train")
        if f.feature == "seconds"
    ]
    assert finding.threshold > 0.1 and "raised from 0.1" in finding.description


def test_shares_on_training_deciles_match_the_hand_counts():
    train = pd.DataFrame({"x": np.arange(1000, dtype=float)})
    other = pd.DataFrame({"x": np.arange(500, dtype=float)})  # only the lower half
    base, current = (statistics(f).datasets[0].features[0].num_stats for f in (train, other))
    histogram = lambda s: next(h for h in s.histograms if h.type == h.QUANTILES)
    edges = training_edges(histogram(base))
    assert len(edges) == 9 and edges[4] == pytest.approx(499.5, abs=10)
    np.testing.assert_allclose(bucket_shares(histogram(base), edges), [0.1] * 10, atol=0.01)
    np.testing.assert_allclose(bucket_shares(histogram(current), edges), [0.2] * 5 + [0] * 5, atol=0.02)
    assert jensen_shannon(np.array([0.1] * 10), np.array([0.2] * 5 + [0] * 5)) == pytest.approx(0.3113, abs=1e-3)


def test_repeated_values_make_one_bucket_of_their_true_share():
    train = pd.DataFrame({"x": [0.0] * 850 + list(np.linspace(100, 5000, 150))})
    base = statistics(train).datasets[0].features[0].num_stats
    histogram = next(h for h in base.histograms if h.type == h.QUANTILES)
    edges = training_edges(histogram)
    assert edges[0] == 0.0 and len(edges) == 2  # zeros, then the tail's decile
    assert bucket_shares(histogram, edges)[0] == pytest.approx(0.85, abs=0.01)
