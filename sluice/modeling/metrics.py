"""Metrics per task (a binary classifier's probabilities today), and which way each one is better."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

import numpy as np

# The metrics a search or a model choice can be judged by: a loss is minimised, a score maximised.
DIRECTIONS = {"log_loss": "min", "accuracy": "max", "auc": "max"}

T = TypeVar("T")
CALIBRATION_BINS = 10


def objective_direction(metric: str, setting: str = "") -> str:
    """"min" or "max": which way `metric` is better.

    Raises:
        ConfigError: `metric` is not in DIRECTIONS; the message starts with `setting`
            (e.g. "Tuner: objective") when given.
    """
    from sluice.config import ConfigError

    try:
        return DIRECTIONS[metric]
    except KeyError:
        where = f"{setting}: " if setting else ""
        raise ConfigError(f"{where}no metric {metric!r} to optimise; choose one of {', '.join(DIRECTIONS)}") from None


def best_first(items: Iterable[T], metric: str, value: Callable[[T], float]) -> list[T]:
    """`items` ordered by their `value` of `metric`, the best first (a stable sort)."""
    sign = 1 if objective_direction(metric) == "min" else -1
    return sorted(items, key=lambda item: sign * value(item))


def calibration_bins(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """The reliability diagram's points: `bins` equal-width bins of P(positive) over [0, 1],
    each with its row count, mean predicted probability and observed positive rate (the
    last two None for an empty bin)."""
    labels = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)  # p == 1.0 falls in the last bin
    counts = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=p, minlength=bins)
    observed = np.bincount(index, weights=labels, minlength=bins)
    return [
        {
            "lower": b / bins,
            "upper": (b + 1) / bins,
            "count": int(counts[b]),
            "mean_probability": float(predicted[b] / counts[b]) if counts[b] else None,
            "positive_rate": float(observed[b] / counts[b]) if counts[b] else None,
        }
        for b in range(bins)
    ]


def expected_calibration_error(bins: list[dict]) -> float:
    """Sum over bins of (rows in bin / rows) x |mean predicted P(positive) - observed positive rate|."""
    total = sum(b["count"] for b in bins)
    return float(sum(b["count"] / total * abs(b["mean_probability"] - b["positive_rate"]) for b in bins if b["count"]))


def _auc(labels: np.ndarray, p: np.ndarray, positives: int, negatives: int) -> float:
    # The rank-sum statistic, with tied scores sharing their mean rank.
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    _, first, counts = np.unique(p[order], return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def binary_metrics(labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> dict[str, float | int | None]:
    """Accuracy, precision and recall at `threshold`, ROC AUC (ties count one half), mean log
    loss, and expected calibration error (`expected_calibration_error`, 10 bins).

    A metric that a set of rows cannot define is None: AUC without both classes, precision
    with no row predicted positive, recall with no positive row (a small slice, say).

    Raises:
        ValueError: no rows.
    """
    labels = np.asarray(labels, dtype=np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    if labels.size == 0:
        raise ValueError("binary_metrics needs at least one row")
    positives, negatives = int(labels.sum()), int((1 - labels).sum())
    called = p >= threshold
    true_positives = int(np.sum(called & (labels == 1)))
    return {
        "accuracy": float(np.mean(called == (labels == 1))),
        "auc": _auc(labels, p, positives, negatives) if positives and negatives else None,
        "log_loss": float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))),
        "precision": true_positives / int(called.sum()) if called.any() else None,
        "recall": true_positives / positives if positives else None,
        "expected_calibration_error": expected_calibration_error(calibration_bins(labels, p)),
        "threshold": float(threshold),
        "examples": int(labels.size),
        "positive_rate": float(positives / labels.size),
    }


# The metrics of each task the Evaluator can judge: (labels, predictions) -> {metric: value}.
# Another task (multi-class, regression) adds its function here and its metrics to DIRECTIONS.
TASK_METRICS: dict[str, Callable[..., dict]] = {"binary": binary_metrics}


def task_metrics(task: str, labels: np.ndarray, predictions: np.ndarray) -> dict[str, float | int | None]:
    """The metrics of `task` ("binary") on one set of rows."""
    try:
        compute = TASK_METRICS[task]
    except KeyError:
        raise ValueError(f"no metrics for task {task!r}; known: {', '.join(TASK_METRICS)}") from None
    return compute(labels, predictions)
