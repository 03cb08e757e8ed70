"""Metrics per task, and which way each one is better.

binary: P(positive) per row; multiclass: probabilities [N, K] per row; regression: the
predicted value per row.
"""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

import numpy as np

# The metrics a search or a model choice can be judged by: a loss is minimised, a score maximised.
DIRECTIONS = {
    "log_loss": "min",
    "accuracy": "max",
    "auc": "max",
    "macro_f1": "max",
    "macro_precision": "max",
    "macro_recall": "max",
    "rmse": "min",
    "mae": "min",
    "r2": "max",
}
# Which of DIRECTIONS each task computes, its usual objective first.
TASK_OBJECTIVES = {
    "binary": ("log_loss", "accuracy", "auc"),
    "multiclass": ("log_loss", "accuracy", "macro_f1", "macro_precision", "macro_recall"),
    "regression": ("rmse", "mae", "r2"),
}

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


def default_objective(task: str) -> str:
    """The metric a search and a blessing judge `task` by unless told otherwise."""
    return TASK_OBJECTIVES[task][0]


def check_objective(metric: str, task: str, setting: str) -> str:
    """`metric` when `task` computes it; raises ConfigError naming `setting` otherwise."""
    from sluice.config import ConfigError

    objective_direction(metric, setting)
    if task in TASK_OBJECTIVES and metric not in TASK_OBJECTIVES[task]:
        raise ConfigError(f"{setting}: a {task} task has no metric {metric!r}; choose one of {', '.join(TASK_OBJECTIVES[task])}")
    return metric


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


def multiclass_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float | int | None]:
    """Accuracy and mean log loss of the most probable class; per class (`class_<k>_...`)
    precision, recall and row count; their unweighted means over classes (macro precision,
    recall and F1, F1 being the mean of each class's F1).

    A class's precision is None when no row is predicted in it, its recall when no row has
    it; the macro means are over the classes where it is defined.

    Raises:
        ValueError: no rows, or probabilities that are not [rows, classes].
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    p = np.asarray(probabilities, dtype=np.float64)
    if labels.size == 0:
        raise ValueError("multiclass_metrics needs at least one row")
    if p.ndim != 2 or p.shape[0] != labels.size:
        raise ValueError(f"multiclass_metrics needs probabilities of shape [{labels.size}, classes], not {list(p.shape)}")
    classes = max(p.shape[1], int(labels.max()) + 1)
    called = np.argmax(p, axis=1)
    # A class the model has no output for (absent from its training rows) has probability 0.
    picked = np.where(labels < p.shape[1], p[np.arange(labels.size), np.minimum(labels, p.shape[1] - 1)], 0.0)
    metrics: dict[str, float | int | None] = {
        "accuracy": float(np.mean(called == labels)),
        "log_loss": float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0)))),
    }
    precisions, recalls, f1s = [], [], []
    for k in range(classes):
        true_positives = int(np.sum((called == k) & (labels == k)))
        predicted, actual = int(np.sum(called == k)), int(np.sum(labels == k))
        precision = true_positives / predicted if predicted else None
        recall = true_positives / actual if actual else None
        metrics[f"class_{k}_precision"], metrics[f"class_{k}_recall"], metrics[f"class_{k}_examples"] = precision, recall, actual
        if precision is not None:
            precisions.append(precision)
        if recall is not None:
            recalls.append(recall)
        if precision is not None and recall is not None:
            f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    metrics["macro_precision"] = float(np.mean(precisions)) if precisions else None
    metrics["macro_recall"] = float(np.mean(recalls)) if recalls else None
    metrics["macro_f1"] = float(np.mean(f1s)) if f1s else None
    metrics["classes"] = classes
    metrics["examples"] = int(labels.size)
    return metrics


def regression_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float | int | None]:
    """Root mean squared error, mean absolute error and R² (1 - squared error / the label's
    variance; None when the label is constant), with the label's mean.

    Raises:
        ValueError: no rows.
    """
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    predicted = np.asarray(predictions, dtype=np.float64).reshape(-1)
    if y.size == 0:
        raise ValueError("regression_metrics needs at least one row")
    errors = predicted - y
    variance = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "r2": float(1.0 - np.sum(errors**2) / variance) if variance > 0 else None,
        "label_mean": float(y.mean()),
        "examples": int(y.size),
    }


# The metrics of each task: (labels, predictions) -> {metric: value}.
TASK_METRICS: dict[str, Callable[..., dict]] = {
    "binary": binary_metrics,
    "multiclass": multiclass_metrics,
    "regression": regression_metrics,
}


def task_metrics(task: str, labels: np.ndarray, predictions: np.ndarray) -> dict[str, float | int | None]:
    """The metrics of `task` ("binary", "multiclass" or "regression") on one set of rows."""
    try:
        compute = TASK_METRICS[task]
    except KeyError:
        raise ValueError(f"no metrics for task {task!r}; known: {', '.join(TASK_METRICS)}") from None
    return compute(labels, predictions)
