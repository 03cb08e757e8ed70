"""Metrics per slice: the rows that share a raw feature's value (or a numeric feature's bucket).

Slices are cut on RAW values (what a person means by "women" or "aged 25 to 34"), so the
Evaluator reads the held-out split as ExampleGen wrote it, before any transform.
"""

from __future__ import annotations

import bisect
from typing import Any, Mapping, Sequence

import numpy as np
import pydantic

from sluice.modeling.metrics import task_metrics

MISSING = "(missing)"


class SliceSpec(pydantic.BaseModel):
    """One feature to slice by.

    Args:
        feature: the raw feature.
        buckets: for a numeric feature, the ascending boundaries of its buckets
            ([25, 35] gives "< 25", "[25, 35)", ">= 35"); None slices by each value.
        tolerance: how much worse than the served model's this feature's slices may score
            on the pipeline's objective before a candidate is refused (see blessing).
    """

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    feature: str
    buckets: list[float] | None = None
    tolerance: float = pydantic.Field(0.05, ge=0)

    @pydantic.field_validator("buckets")
    @classmethod
    def _ascending(cls, buckets):
        if buckets is not None and (not buckets or list(buckets) != sorted(set(buckets))):
            raise ValueError("buckets must be a non-empty list of strictly ascending boundaries")
        return buckets

    def slice_of(self, value: Any) -> str:
        """The name of the slice a raw value falls in."""
        if value is None:
            return MISSING
        if self.buckets is None:
            return str(value)
        index = bisect.bisect_right(self.buckets, value)
        if index == 0:
            return f"< {self.buckets[0]:g}"
        if index == len(self.buckets):
            return f">= {self.buckets[-1]:g}"
        return f"[{self.buckets[index - 1]:g}, {self.buckets[index]:g})"

    def order(self, value: Any) -> tuple:
        """A sort key that shows slices in their natural order (buckets low to high, missing last)."""
        if value is None:
            return (1, 0, "")
        if self.buckets is None:
            return (0, 0, str(value))
        return (0, bisect.bisect_right(self.buckets, value), "")


def slice_metrics(
    task: str,
    labels: np.ndarray,
    predictions: np.ndarray,
    raw: Mapping[str, Sequence[Any]],
    specs: Sequence[SliceSpec],
) -> dict[str, dict[str, dict]]:
    """{feature: {slice: metrics}} over the rows of each slice; each slice's metrics
    include its row count ("examples"). `raw[feature]` holds each row's raw value."""
    sliced = {}
    for spec in specs:
        keys = {}
        for value in raw[spec.feature]:
            keys.setdefault(spec.slice_of(value), spec.order(value))
        names = np.array([spec.slice_of(v) for v in raw[spec.feature]], dtype=object)
        sliced[spec.feature] = {
            name: task_metrics(task, labels[names == name], predictions[names == name]) for name in sorted(keys, key=keys.get)
        }
    return sliced
