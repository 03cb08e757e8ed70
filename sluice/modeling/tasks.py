"""What a task asks of its label, checked on the transformed training labels before any training.

Three tasks: "binary" (one sigmoid unit, labels coded 0 and 1), "multiclass" (a softmax
over K classes, labels coded 0..K-1) and "regression" (one linear unit, a numeric label).
A label that does not fit (a real-valued amount fed to a classifier, a single class,
text) would still train, to a meaningless loss; here it is refused with what was found.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from sluice.errors import SluiceError

DEFAULT_TASK = "binary"
TASKS = ("binary", "multiclass", "regression")
CLASSIFICATION_TASKS = ("binary", "multiclass")


class LabelDoesNotFitTask(SluiceError):
    """The label's values cannot be learned by the task's families."""


def _shown(values: np.ndarray, limit: int = 3) -> str:
    listed = ", ".join(repr(v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v) for v in values[:limit])
    return listed + (", ..." if len(values) > limit else "")


def binary_label_problem(distinct: np.ndarray) -> str | None:
    """Why `distinct` (a label's sorted distinct values) does not fit a binary task, or None."""
    needs = "a binary task needs exactly 2 classes, coded 0 and 1 by the preprocessing_fn (e.g. label_index)"
    if distinct.dtype.kind in "OSU":
        return f"reaches the model as text ({len(distinct):,} distinct values: {_shown(distinct)}); {needs}"
    if len(distinct) == 2 and set(distinct.tolist()) == {0, 1}:
        return None
    if len(distinct) < 2:
        return f"has a single value ({_shown(distinct)}) in the train split; {needs}"
    numeric = "numeric values" if np.any(distinct != np.round(distinct)) else "values"
    return f"has {len(distinct):,} distinct {numeric} (from {distinct[0]:g} to {distinct[-1]:g}: {_shown(distinct)}); {needs}"


def multiclass_label_problem(distinct: np.ndarray) -> str | None:
    """Why `distinct` does not fit a multi-class task (3 or more classes coded 0..K-1), or None."""
    needs = "a multiclass task needs 3 or more classes, coded 0..K-1 by the preprocessing_fn (e.g. pp.vocabulary with no OOV bucket)"
    if distinct.dtype.kind in "OSU":
        return f"reaches the model as text ({len(distinct):,} distinct values: {_shown(distinct)}); {needs}"
    if np.any(distinct != np.round(distinct)):
        return f"has {len(distinct):,} distinct numeric values (from {distinct[0]:g} to {distinct[-1]:g}: {_shown(distinct)}); {needs}"
    if len(distinct) < 3:
        return f"has {len(distinct)} class{'es' if len(distinct) != 1 else ''} ({_shown(distinct)}) in the train split; {needs} (2 classes: use task 'binary')"
    if distinct[0] != 0 or distinct[-1] != len(distinct) - 1:
        return f"has {len(distinct):,} classes coded from {distinct[0]:g} to {distinct[-1]:g}, not 0..{len(distinct) - 1}; {needs}"
    return None


def regression_label_problem(distinct: np.ndarray) -> str | None:
    """Why `distinct` does not fit a regression (a numeric label that varies), or None."""
    needs = "a regression task needs a numeric label"
    if distinct.dtype.kind in "OSU":
        return f"reaches the model as text ({len(distinct):,} distinct values: {_shown(distinct)}); {needs}"
    if len(distinct) < 2:
        return f"has a single value ({_shown(distinct)}) in the train split; {needs} that varies"
    if not np.all(np.isfinite(distinct)):
        return f"has non-finite values ({_shown(distinct[~np.isfinite(distinct)])}); {needs} with finite values"
    return None


LABEL_RULES: dict[str, Callable[[np.ndarray], str | None]] = {
    "binary": binary_label_problem,
    "multiclass": multiclass_label_problem,
    "regression": regression_label_problem,
}


def check_task(task: str, setting: str = "task") -> str:
    """`task` when it is one of TASKS; raises ConfigError naming `setting` otherwise."""
    from sluice.config import ConfigError

    if task not in TASKS:
        raise ConfigError(f"{setting}: {task!r} is not one of {', '.join(TASKS)}")
    return task


def check_label(values: np.ndarray, label: str, task: str = DEFAULT_TASK) -> None:
    """Raises LabelDoesNotFitTask naming the label and what was found when `values` do not fit `task`."""
    if task not in LABEL_RULES:
        raise LabelDoesNotFitTask(f"task {task!r} is not one of {sorted(LABEL_RULES)}")
    problem = LABEL_RULES[task](np.unique(np.asarray(values).ravel()))
    if problem:
        raise LabelDoesNotFitTask(f"label {label!r} {problem}")


def transformed_label_values(transform, label: str, split: str = "train") -> np.ndarray:
    """Every value of the transformed label in one split of a Transform artifact."""
    import tensorflow as tf

    from sluice.modeling.datasets import transform_output
    from sluice.modeling.transform_graph import TransformGraph

    spec = transform_output(transform).transformed_feature_spec()
    if label not in spec:
        raise LabelDoesNotFitTask(f"label {label!r} is not among the preprocessing_fn's outputs {sorted(spec)}")
    files = tf.io.gfile.glob(transform.file(TransformGraph.of(transform).splits[split].pattern))
    parse = lambda batch: tf.io.parse_example(batch, {label: spec[label]})[label]  # noqa: E731
    batches = tf.data.TFRecordDataset(files).batch(4096).map(parse)
    parts = [batch.values.numpy() if isinstance(batch, tf.SparseTensor) else batch.numpy() for batch in batches]
    return np.concatenate([p.ravel() for p in parts]) if parts else np.array([])


def check_transformed_label(transform, label: str, task: str = DEFAULT_TASK) -> None:
    """Refuses a Transform artifact whose training labels do not fit `task`, before any training."""
    check_label(transformed_label_values(transform, label), label, task)
