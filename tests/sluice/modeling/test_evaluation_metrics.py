"""Evaluator metrics on hand-computed inputs: precision, recall, calibration, slices."""

import numpy as np
import pytest

from sluice.modeling.metrics import binary_metrics, calibration_bins, expected_calibration_error, task_metrics
from sluice.modeling.slicing import MISSING, SliceSpec, slice_metrics


def test_precision_and_recall_at_the_threshold():
    labels = np.array([1, 1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.3])
    at_half = binary_metrics(labels, scores)
    assert at_half["precision"] == pytest.approx(2 / 3)  # 0.9, 0.6 right; 0.7 wrong
    assert at_half["recall"] == pytest.approx(2 / 3)  # 0.2 missed
    stricter = binary_metrics(labels, scores, threshold=0.8)
    assert stricter["precision"] == 1.0 and stricter["recall"] == pytest.approx(1 / 3) and stricter["threshold"] == 0.8


def test_expected_calibration_error_of_known_bins():
    # Bin [0.2, 0.3): four rows at 0.25, one positive (rate 0.25): calibrated.
    # Bin [0.8, 0.9): four rows at 0.8, two positives (rate 0.5): off by 0.3.
    labels = np.array([1, 0, 0, 0, 1, 1, 0, 0])
    scores = np.array([0.25] * 4 + [0.8] * 4)
    bins = calibration_bins(labels, scores)
    assert [b["count"] for b in bins] == [0, 0, 4, 0, 0, 0, 0, 0, 4, 0]
    assert bins[8]["mean_probability"] == pytest.approx(0.8) and bins[8]["positive_rate"] == 0.5
    assert bins[0]["mean_probability"] is None
    assert expected_calibration_error(bins) == pytest.approx(0.5 * 0 + 0.5 * 0.3)
    assert binary_metrics(labels, scores)["expected_calibration_error"] == pytest.approx(0.15)


def test_probability_one_falls_in_the_last_bin_and_perfect_calibration_scores_zero():
    bins = calibration_bins(np.array([1, 0]), np.array([1.0, 0.0]))
    assert bins[-1]["count"] == 1 and bins[0]["count"] == 1
    assert expected_calibration_error(bins) == 0.0


def test_undefined_metrics_are_none_not_an_error():
    only_negatives = binary_metrics(np.array([0, 0]), np.array([0.2, 0.3]))
    assert only_negatives["auc"] is None and only_negatives["recall"] is None and only_negatives["precision"] is None
    assert only_negatives["accuracy"] == 1.0


def test_task_metrics_names_an_unknown_task():
    assert task_metrics("binary", np.array([0, 1]), np.array([0.4, 0.6]))["accuracy"] == 1.0
    with pytest.raises(ValueError, match="no metrics for task 'ranking'; known: binary, multiclass, regression"):
        task_metrics("ranking", np.array([0.0]), np.array([0.0]))


def test_bucketed_slices_name_their_bounds():
    age = SliceSpec(feature="age", buckets=[25, 35])
    assert [age.slice_of(v) for v in (17, 25, 34, 35, 90, None)] == ["< 25", "[25, 35)", "[25, 35)", ">= 35", ">= 35", MISSING]
    with pytest.raises(ValueError, match="strictly ascending"):
        SliceSpec(feature="age", buckets=[35, 25])


def test_slices_carry_their_metrics_and_row_counts():
    labels = np.array([1, 0, 1, 0, 1])
    scores = np.array([0.9, 0.1, 0.2, 0.4, 0.8])
    raw = {"sex": ["Female", "Female", "Male", "Male", None], "age": [20, 30, 40, 50, 60]}
    sliced = slice_metrics("binary", labels, scores, raw, [SliceSpec(feature="sex"), SliceSpec(feature="age", buckets=[45])])
    assert {name: m["examples"] for name, m in sliced["sex"].items()} == {"Female": 2, "Male": 2, MISSING: 1}
    assert sliced["sex"]["Female"]["accuracy"] == 1.0 and sliced["sex"]["Male"]["accuracy"] == 0.5
    assert {name: m["examples"] for name, m in sliced["age"].items()} == {"< 45": 3, ">= 45": 2}
    assert sliced["age"][">= 45"]["recall"] == 1.0


def test_slices_are_listed_in_their_natural_order():
    raw = {"age": [70, None, 30, 10, 50]}
    sliced = slice_metrics("binary", np.array([1, 0, 1, 0, 1]), np.full(5, 0.5), raw, [SliceSpec(feature="age", buckets=[25, 45, 65])])
    assert list(sliced["age"]) == ["< 25", "[25, 45)", "[45, 65)", ">= 65", MISSING]
