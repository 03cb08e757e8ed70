"""Blessing: whether a candidate model may replace the served one.

A candidate is blessed when all three hold, on the same held-out rows:

1. it clears the absolute floor (e.g. accuracy >= 0.84);
2. it is not worse than the served model by more than `objective_tolerance` on the
   pipeline's objective (log loss, say: candidate - served <= tolerance);
3. no configured slice is worse than the served model's same slice by more than that
   slice feature's own tolerance, on the same objective.

The first push (nothing served) is judged by the floor only.

Small slices: a slice with fewer than `min_slice_rows` rows is reported but not judged.
The objective's noise on n rows shrinks like 1/sqrt(n); on a few dozen rows a log loss
moves by more than any useful tolerance from sampling alone, so a rule without this
minimum would refuse good models at random. Both models are scored on the same rows, so a
slice's count is the same on both sides.
"""

from __future__ import annotations

from typing import Any, Mapping

import pydantic

from sluice.modeling.metrics import objective_direction


class BlessingRules(pydantic.BaseModel):
    """What a candidate must meet.

    Args:
        objective: the metric compared with the served model (the pipeline's objective).
        objective_tolerance: how much worse than the served model it may be, in the
            metric's own units.
        floor: metric -> the value it must reach (at least, or at most for a loss).
        slice_tolerances: slice feature -> how much worse each of its slices may be.
        min_slice_rows: slices with fewer rows are not judged.
    """

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    objective: str
    objective_tolerance: float = pydantic.Field(ge=0)
    floor: dict[str, float] = {}
    slice_tolerances: dict[str, float] = {}
    min_slice_rows: int = pydantic.Field(100, ge=1)


class Check(pydantic.BaseModel):
    """One condition of the blessing and how it went."""

    check: str  # "floor", "objective" or "slice"
    passed: bool
    detail: str
    slice: str | None = None


class Blessing(pydantic.BaseModel):
    """The decision, with both models' numbers and the reason.

    Args:
        blessed: whether the candidate may be pushed.
        reason: one sentence: the failed checks, or what was met.
        checks: every check made (slices too small to judge are listed, passed, as such).
        served_version: the version compared with (None on a first push).
        candidate, served: the two models' overall metrics on the same rows.
    """

    blessed: bool
    reason: str
    checks: list[Check]
    served_version: int | None = None
    candidate: dict[str, Any]
    served: dict[str, Any] | None = None


def _worse_by(metric: str, candidate: float, served: float) -> float:
    """How much worse the candidate is (negative when better)."""
    return candidate - served if objective_direction(metric) == "min" else served - candidate


def _floor_checks(rules: BlessingRules, metrics: Mapping[str, Any]) -> list[Check]:
    checks = []
    for metric, bound in rules.floor.items():
        value = metrics[metric]
        minimising = objective_direction(metric) == "min"
        passed = value is not None and (value <= bound if minimising else value >= bound)
        shown = "None" if value is None else f"{value:.4f}"
        checks.append(Check(check="floor", passed=passed, detail=f"{metric} {shown} {'<=' if minimising else '>='} {bound:g} required"))
    return checks


def _slice_checks(rules: BlessingRules, candidate: Mapping, served: Mapping) -> list[Check]:
    checks = []
    metric = rules.objective
    for feature, tolerance in rules.slice_tolerances.items():
        for name, mine in candidate.get(feature, {}).items():
            theirs = served.get(feature, {}).get(name)
            where = f"{feature}={name}"
            if theirs is None or mine.get(metric) is None or theirs.get(metric) is None:
                continue  # a slice the served model's rows lack, or where the metric is undefined
            if mine["examples"] < rules.min_slice_rows:
                checks.append(
                    Check(check="slice", slice=where, passed=True, detail=f"{where}: {mine['examples']} rows < {rules.min_slice_rows}, not judged")
                )
                continue
            worse = _worse_by(metric, mine[metric], theirs[metric])
            checks.append(
                Check(
                    check="slice",
                    slice=where,
                    passed=worse <= tolerance,
                    detail=f"{where} ({mine['examples']} rows): {metric} {mine[metric]:.4f} vs served {theirs[metric]:.4f}, "
                    f"worse by {worse:+.4f} (tolerance {tolerance:g})",
                )
            )
    return checks


def decide(
    rules: BlessingRules,
    candidate: Mapping[str, Any],
    served: Mapping[str, Any] | None = None,
    candidate_slices: Mapping[str, Mapping] | None = None,
    served_slices: Mapping[str, Mapping] | None = None,
    served_version: int | None = None,
) -> Blessing:
    """Blesses `candidate` (overall metrics, and per slice: {feature: {slice: metrics}})
    against the served model's on the same rows, or by the floor alone when `served` is None."""
    checks = _floor_checks(rules, candidate)
    if served is not None:
        metric = rules.objective
        worse = _worse_by(metric, candidate[metric], served[metric])
        checks.append(
            Check(
                check="objective",
                passed=worse <= rules.objective_tolerance,
                detail=f"{metric} {candidate[metric]:.4f} vs served {served[metric]:.4f} (version {served_version}), "
                f"worse by {worse:+.4f} (tolerance {rules.objective_tolerance:g})",
            )
        )
        checks += _slice_checks(rules, candidate_slices or {}, served_slices or {})
    failed = [c for c in checks if not c.passed]
    if failed:
        reason = "not blessed: " + "; ".join(c.detail for c in failed)
    else:
        judged = sum(c.check == "slice" and "not judged" not in c.detail for c in checks)
        met = [c.detail for c in checks if c.check in ("floor", "objective")]
        reason = "blessed: " + "; ".join(met or ["no floor configured"])
        reason += f"; {judged} slices within tolerance" if served is not None else " (first push: nothing served to compare with)"
    return Blessing(
        blessed=not failed,
        reason=reason,
        checks=checks,
        served_version=served_version,
        candidate=dict(candidate),
        served=dict(served) if served is not None else None,
    )
