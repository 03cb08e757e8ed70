"""Text-category skew/drift: TFDV's L-infinity distance, its threshold raised for small samples,
the category that moved named."""

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from sluice.validation.category_shift import category_shift_findings, left_to_tfdv, noise_allowance
from sluice.validation.findings import comparison_findings
from sluice.validation.statistics import stats_options


def statistics(values):
    return tfdv.generate_statistics_from_dataframe(pd.DataFrame({"c": values}), stats_options())


def schema_with_l_infinity(train_stats, threshold=0.1):
    schema = tfdv.infer_schema(train_stats)
    for feature in schema.feature:
        feature.skew_comparator.infinity_norm.threshold = threshold
        feature.drift_comparator.infinity_norm.threshold = threshold
    return schema


def test_the_distance_is_tfdvs_and_names_the_category():
    train, serving = ["a"] * 500 + ["b"] * 300 + ["c"] * 200, ["a"] * 300 + ["b"] * 300 + ["c"] * 200 + ["new"] * 200
    train_stats, serving_stats = statistics(train), statistics(serving)
    schema = schema_with_l_infinity(train_stats, threshold=0.05)
    (ours,) = category_shift_findings(train_stats, serving_stats, schema, "skew", "serving", "train")
    (theirs,) = comparison_findings(tfdv.validate_statistics(train_stats, schema, serving_statistics=serving_stats), "skew", "serving", "train")
    assert ours.value == pytest.approx(theirs.value) == pytest.approx(0.20)
    # 'a' and 'new' both moved by 0.20; a new category is less likely noise than a common one's move
    assert "at 'new' (0.0% in train, 20.0% here" in ours.description
    assert ours.measure == "L-infinity distance" and ours.blocking


def test_random_halves_of_a_small_file_raise_no_blocking_finding():
    rng = np.random.default_rng(0)
    values = list(rng.choice(["yes", "no"], 300))
    for seed in range(5):
        inside = np.random.default_rng(seed).random(300) < 0.5
        train_stats = statistics([v for v, keep in zip(values, inside) if keep])
        other_stats = statistics([v for v, keep in zip(values, inside) if not keep])
        (finding,) = category_shift_findings(train_stats, other_stats, schema_with_l_infinity(train_stats), "drift", "train", "previous")
        assert not finding.blocking and finding.threshold > 0.25  # ~150 values a side: noise reaches 0.25 once in a million


def test_a_new_category_on_a_fifth_of_a_larger_split_blocks():
    rng = np.random.default_rng(1)
    train = list(rng.choice(["a", "b", "c"], 3000))
    serving = [v if i % 5 else "Astronaut" for i, v in enumerate(rng.choice(["a", "b", "c"], 1000))]
    train_stats = statistics(train)
    (finding,) = category_shift_findings(train_stats, statistics(serving), schema_with_l_infinity(train_stats), "skew", "serving", "train")
    assert finding.blocking and finding.threshold == 0.1 and "'Astronaut' (0.0% in train, 20.0% here" in finding.description


def test_the_allowance_shrinks_with_more_rows_and_rarer_categories():
    assert noise_allowance(0.5, 150, 150) > 0.25
    assert noise_allowance(0.5, 100_000, 20_000) < 0.02
    assert noise_allowance(0.02, 540, 300) < noise_allowance(0.5, 540, 300) / 3


def test_tfdv_is_left_only_the_comparisons_sluice_does_not_measure():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "n": [1, 2, 3], "c": ["a", "b", "a"]})
    schema = tfdv.infer_schema(tfdv.generate_statistics_from_dataframe(frame))
    tfdv.get_feature(schema, "n").int_domain.is_categorical = True
    for feature in schema.feature:
        comparator = feature.skew_comparator
        (comparator.jensen_shannon_divergence if feature.name == "x" else comparator.infinity_norm).threshold = 0.1
    left = left_to_tfdv(schema)
    assert [f.name for f in left.feature if f.HasField("skew_comparator") and f.skew_comparator.ListFields()] == ["n"]
    assert tfdv.get_feature(schema, "c").skew_comparator.infinity_norm.threshold == 0.1  # the original is kept
