"""Metrics of a binary classifier's probabilities, and which way each one is better."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

import numpy as np

# The metrics a search or a model choice can be judged by: a loss is minimised, a score maximised.
DIRECTIONS = {"log_loss": "min", "accuracy": "max", "auc": "max"}

T = TypeVar("T")


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


def binary_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Accuracy at 0.5, ROC AUC (ties count one half), and mean log loss."""
    labels = np.asarray(labels, dtype=np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    positives, negatives = int(labels.sum()), int((1 - labels).sum())
    if labels.size == 0 or positives == 0 or negatives == 0:
        raise ValueError("binary_metrics needs at least one positive and one negative label")
    # AUC by the rank-sum statistic, with tied scores sharing their mean rank.
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    _, first, counts = np.unique(sorted_p, return_index=True, return_counts=True)
    mean_ranks = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mean_ranks, counts)
    auc = (ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives)
    log_loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    return {
        "accuracy": float(np.mean((p >= 0.5) == (labels == 1))),
        "auc": float(auc),
        "log_loss": float(log_loss),
        "examples": int(labels.size),
        "positive_rate": float(positives / labels.size),
    }
