"""Data validation on TFDV statistics: schema anomalies, training/serving skew, drift.

TFDV does the measuring; this module turns its anomalies into findings a person can act
on (split, feature, measure, value, threshold, blocking or not) and refuses a schema whose
skew or drift settings could never fire.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

from sluice.errors import SluiceError

MEASURE_NAMES = {
    "L_INFTY": "L-infinity distance",
    "JENSEN_SHANNON_DIVERGENCE": "Jensen-Shannon divergence",
    "NORMALIZED_ABSOLUTE_DIFFERENCE": "normalized absolute difference",
}
_COMPARATOR_REASONS = {
    "COMPARATOR_L_INFTY_HIGH",
    "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH",
    "COMPARATOR_NORMALIZED_ABSOLUTE_DIFFERENCE_HIGH",
}


class SchemaConfigError(SluiceError):
    """A schema's skew/drift settings cannot work as written."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing validation noticed about one feature of one split."""

    check: str  # "schema", "skew" or "drift"
    split: str
    feature: str  # "" for the dataset as a whole
    kind: str
    description: str
    blocking: bool
    measure: str | None = None
    value: float | None = None
    threshold: float | None = None
    compared_with: str | None = None

    def __str__(self) -> str:
        where = f"split {self.split!r}, " + (f"feature {self.feature!r}" if self.feature else "dataset")
        if self.measure is not None:
            return (
                f"{where}: {self.check}, {self.measure} {self.value:.4f} > threshold {self.threshold:g} "
                f"(compared with {self.compared_with})"
            )
        return f"{where}: {self.kind}: {self.description}"

    @classmethod
    def measured(
        cls, check: str, split: str, feature: str, measure: str, value: float, threshold: float, detail: str,
        warn: Iterable[str], compared_with: str,
    ) -> Finding:
        """A skew or drift measurement, blocking when over its threshold (unless the feature
        only warns); `detail` follows "<measure> <value>" in the description."""
        over = value > threshold
        return cls(
            check,
            split,
            feature,
            "over threshold" if over else "within threshold",
            f"{measure} {value:.4f}{detail}",
            blocking=over and feature not in warn,
            measure=measure,
            value=float(value),
            threshold=float(threshold),
            compared_with=compared_with,
        )


def raised_note(schema_threshold: float, threshold: float, n: float, m: float) -> str:
    """", raised from 0.1 for 300 and 30 values" when a small sample raised the schema's threshold."""
    return f", raised from {schema_threshold:g} for {n:.0f} and {m:.0f} values" if threshold > schema_threshold else ""


def schema_config_errors(schema) -> list[str]:
    """Skew/drift comparators that can never fire, one message each.

    TFDV measures L-infinity on value frequencies, which a float feature or a
    non-categorical integer feature does not have: such a comparator always reads 0.
    """
    from tensorflow_metadata.proto.v0 import schema_pb2

    errors = []
    for feature in schema.feature:
        for field in ("skew_comparator", "drift_comparator"):
            comparator = getattr(feature, field)
            if not comparator.HasField("infinity_norm"):
                continue
            categorical_int = feature.type == schema_pb2.INT and feature.int_domain.is_categorical
            if feature.type == schema_pb2.FLOAT or (feature.type == schema_pb2.INT and not categorical_int):
                kind = "float" if feature.type == schema_pb2.FLOAT else "non-categorical integer"
                errors.append(
                    f"feature {feature.name!r}: {field} uses L-infinity, which is always 0 on a {kind} "
                    "feature and can never fire; use jensen_shannon_divergence"
                )
    return errors


def check_schema_config(schema) -> None:
    """Raises SchemaConfigError naming every comparator that can never fire."""
    errors = schema_config_errors(schema)
    if errors:
        raise SchemaConfigError("the schema's skew/drift settings are wrong:\n  " + "\n  ".join(errors))


def _severity_blocks(info, feature: str, warn_only: Iterable[str]) -> bool:
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    return info.severity != anomalies_pb2.AnomalyInfo.WARNING and feature not in set(warn_only)


def schema_findings(anomalies, split: str, warn_only: Iterable[str] = ()) -> list[Finding]:
    """Findings from TFDV's schema anomalies (comparator anomalies are left to skew/drift)."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    findings = []
    for feature, info in sorted(anomalies.anomaly_info.items()):
        reasons = [r for r in info.reason if anomalies_pb2.AnomalyInfo.Type.Name(r.type) not in _COMPARATOR_REASONS]
        for reason in reasons:
            findings.append(
                Finding("schema", split, feature, reason.short_description, reason.description, _severity_blocks(info, feature, warn_only))
            )
    if anomalies.HasField("dataset_anomaly_info"):
        info = anomalies.dataset_anomaly_info
        for reason in info.reason:
            findings.append(Finding("schema", split, "", reason.short_description, reason.description, _severity_blocks(info, "", warn_only)))
    return findings


def unseen_category_findings(statistics, schema, split: str) -> list[Finding]:
    """Warnings for categories unseen in training that stay within the schema's tolerated share.

    TFDV reports such values only beyond 1 - min_domain_mass (a blocking finding); below it
    they pass silently, yet a person should know a category is new.
    """
    import tensorflow_data_validation as tfdv

    findings = []
    for feature in schema.feature:
        mass = feature.distribution_constraints.min_domain_mass
        stats = feature_statistics(statistics, feature.name)
        has_domain = feature.HasField("string_domain") or feature.domain
        if not mass or not has_domain or stats is None or not stats.HasField("string_stats"):
            continue
        domain = set(tfdv.get_domain(schema, feature.name).value)
        string_stats = stats.string_stats
        counts = {b.label: b.sample_count for b in string_stats.rank_histogram.buckets} or {
            v.value: v.frequency for v in string_stats.top_values
        }
        unseen = {value: count for value, count in counts.items() if value not in domain}
        present = string_stats.common_stats.num_non_missing
        share = sum(unseen.values()) / present if present else 0.0
        if not unseen or share > 1 - mass:  # beyond the tolerated share TFDV's own anomaly blocks
            continue
        named = ", ".join(repr(v) for v in sorted(unseen, key=lambda v: -unseen[v])[:5]) + (", ..." if len(unseen) > 5 else "")
        findings.append(
            Finding(
                "schema",
                split,
                feature.name,
                "unseen categories",
                f"{len(unseen)} value(s) not seen in training ({named}) cover {share:.2%} of the split; "
                f"up to {1 - mass:.2%} is tolerated (min_domain_mass {mass:g})",
                blocking=False,
            )
        )
    return findings


def comparison_findings(
    anomalies, check: str, split: str, compared_with: str, warn_only: Iterable[str] = ()
) -> list[Finding]:
    """Findings from the skew or drift measurements TFDV recorded, over threshold or not.

    Every measurement is returned (blocking only when over its threshold), so a report
    shows the features that passed beside the ones that did not.
    """
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    warn = set(warn_only)
    findings = []
    for info in anomalies.drift_skew_info:
        feature = ".".join(info.path.step)
        measurements = info.skew_measurements if check == "skew" else info.drift_measurements
        for m in measurements:
            name = anomalies_pb2.DriftSkewInfo.Measurement.Type.Name(m.type)
            measure = MEASURE_NAMES.get(name, name)
            detail = f" (threshold {m.threshold:g})"
            findings.append(Finding.measured(check, split, feature, measure, m.value, m.threshold, detail, warn, compared_with))
    return findings


def problems(findings: Sequence[Finding]) -> list[Finding]:
    """Findings that say something is wrong (blocking or a warning); passed measurements left out."""
    return [f for f in findings if f.blocking or f.kind != "within threshold"]


def feature_statistics(statistics, feature: str):
    """The FeatureNameStatistics of `feature` in the first dataset of a statistics list, or None."""
    for candidate in statistics.datasets[0].features if statistics.datasets else ():
        if ".".join(candidate.path.step) == feature or candidate.name == feature:
            return candidate
    return None


def feature_distribution(statistics, feature: str, top_k: int = 20) -> dict | None:
    """A JSON-friendly distribution of one feature: histogram buckets or top-value shares."""
    stats = feature_statistics(statistics, feature)
    if stats is None:
        return None
    num_examples = statistics.datasets[0].num_examples or 1
    if stats.HasField("num_stats"):
        common = stats.num_stats.common_stats
        histogram = next((h for h in stats.num_stats.histograms if h.type == h.STANDARD), None)
        buckets = [[b.low_value, b.high_value, b.sample_count] for b in histogram.buckets] if histogram else []
        return {
            "kind": "histogram",
            "buckets": buckets,
            "mean": stats.num_stats.mean,
            "std": stats.num_stats.std_dev,
            "missing_fraction": 1 - common.num_non_missing / num_examples,
        }
    if stats.HasField("string_stats"):
        common = stats.string_stats.common_stats
        present = common.num_non_missing or 1
        values = [[v.value, v.frequency / present] for v in stats.string_stats.top_values[:top_k]]
        return {
            "kind": "top_values",
            "values": values,
            "unique": stats.string_stats.unique,
            "missing_fraction": 1 - common.num_non_missing / num_examples,
        }
    return None
