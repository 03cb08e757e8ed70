"""ExampleValidator: schema anomalies, training/serving skew and drift, with a gate.

Checks, each optional:
- schema: each split's statistics against the schema (missing or extra column, type
  change, value out of domain, unseen categories beyond the tolerated share, missing rate
  above the presence constraint);
- skew: a serving split against the training split, with the schema's skew_comparator
  thresholds (L-infinity for categories, with a threshold raised for small samples:
  `sluice.validation.category_shift`; Jensen-Shannon divergence for numbers, measured on
  the training data's quantile buckets: `sluice.validation.numeric_shift`);
- drift: a split against the same split of the pipeline's previous run (the previous
  span of data), with the schema's drift_comparator thresholds.

The artifact always holds each check's anomalies proto, `summary.json` and `report.html`,
with ExampleGen's row accounting (read, written, rejected) when the examples are an input.
Blocking findings close the gate: the artifact is sealed with them, then the run stops
with a message naming each feature, measure, value and threshold.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Mapping, Sequence

from components.example_gen.artifact import Examples
from components.schema_gen import Schema
from sluice.artifacts import Artifact, ArtifactDraft, latest_artifact
from sluice.contract import ComponentSpec
from sluice.errors import GateClosed
from sluice.validation.data_validation import ANOMALIES_FILE, REPORT_FILE, SUMMARY_FILE, DataValidation
from sluice.validation.findings import Finding
from sluice.validation.statistics import Statistics


class AnomaliesFound(GateClosed):
    """Blocking findings; the message names each feature, measure, value and threshold."""


@dataclasses.dataclass(frozen=True)
class Params:
    """ExampleValidator's parameters.

    Args:
        splits: splits checked against the schema.
        environment: the schema environment of those splits (when the schema has environments).
        skew_training_split: the training side of the skew check (None: no skew check).
        skew_serving_split: the serving side of the skew check.
        drift_split: the split compared with the previous run's same split (None: no drift check).
        warn_only: features whose findings are reported as warnings and never block.
        extra_columns: columns of the checked file that are not features (a serving file's
            label, say); each is reported as a warning on every checked split.
    """

    splits: Sequence[str] = ("eval", "test")
    environment: str = "TRAINING"
    skew_training_split: str | None = None
    skew_serving_split: str | None = None
    drift_split: str | None = None
    warn_only: Sequence[str] = ()
    extra_columns: Sequence[str] = ()


def _row_accounting(examples: Artifact | None, shown: int = 50):
    """Rows read/written/rejected by ExampleGen and its first rejected rows, when given."""
    recorded = Examples.of(examples) if examples is not None else None
    if recorded is None or recorded.rows is None or recorded.rejects_file is None:
        return None, [], ""
    rejects_file = examples.file(recorded.rejects_file)
    with open(rejects_file, encoding="utf-8") as handle:
        rejects = [json.loads(line) for _, line in zip(range(shown), handle)]
    return recorded.rows.model_dump(), rejects, rejects_file


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import tensorflow_data_validation as tfdv

    from components.schema_gen import load_schema
    from sluice.validation.statistics import load_split_statistics
    from sluice.validation.report import feature_distributions, write_report
    from sluice.validation.findings import check_schema_config, comparison_findings, schema_findings, unseen_category_findings
    from sluice.validation.category_shift import category_shift_findings, left_to_tfdv
    from sluice.validation.numeric_shift import numeric_shift_findings

    schema = load_schema(inputs["schema"])
    check_schema_config(schema)
    # Numbers are compared on training deciles, text categories with a sample-size-aware
    # threshold (sluice.validation.numeric_shift, category_shift); TFDV measures the rest.
    tfdv_comparisons = left_to_tfdv(schema)
    statistics = inputs["statistics"]
    # `sluice validate` brings its training statistics from another run as "baseline".
    baseline = inputs.get("baseline", statistics)
    environment = params.environment if params.environment in schema.default_environment else None
    findings: list[Finding] = []
    shown: dict[str, object] = {}  # label -> statistics, for the report's plots (training first)
    if params.skew_serving_split:
        shown[params.skew_training_split] = load_split_statistics(baseline, params.skew_training_split)

    def save(anomalies, *parts: str) -> None:
        tfdv.write_anomalies_text(anomalies, output.file(*parts, ANOMALIES_FILE))

    for split in params.splits:
        stats = shown[split] = load_split_statistics(statistics, split)
        anomalies = tfdv.validate_statistics(stats, schema, environment=environment)
        save(anomalies, "schema", split)
        findings += schema_findings(anomalies, split, params.warn_only)
        findings += unseen_category_findings(stats, schema, split)
        findings += [
            Finding("schema", split, column, "extra column", "in the file but not a feature of the pipeline; ignored", blocking=False)
            for column in params.extra_columns
        ]

    if params.skew_serving_split:
        training = shown[params.skew_training_split]
        serving = shown[params.skew_serving_split] = load_split_statistics(statistics, params.skew_serving_split)
        anomalies = tfdv.validate_statistics(training, tfdv_comparisons, serving_statistics=serving)
        save(anomalies, "skew", params.skew_serving_split)
        compared = (params.skew_serving_split, params.skew_training_split, params.warn_only)
        findings += comparison_findings(anomalies, "skew", *compared)
        findings += numeric_shift_findings(training, serving, schema, "skew", *compared)
        findings += category_shift_findings(training, serving, schema, "skew", *compared)

    run_dir = output.final_path.parent
    previous = latest_artifact(run_dir.parent, statistics.path.name, exclude_run=run_dir) if params.drift_split else None
    if previous is not None:
        label = f"previous run {previous.path.parent.name}"
        current = shown[params.drift_split] = load_split_statistics(statistics, params.drift_split)
        before = shown[f"{params.drift_split} ({label})"] = load_split_statistics(previous, params.drift_split)
        anomalies = tfdv.validate_statistics(current, tfdv_comparisons, previous_statistics=before)
        save(anomalies, "drift", params.drift_split)
        findings += comparison_findings(anomalies, "drift", params.drift_split, label, params.warn_only)
        compared = (params.drift_split, label, params.warn_only)
        findings += numeric_shift_findings(before, current, schema, "drift", *compared)
        findings += category_shift_findings(before, current, schema, "drift", *compared)

    rows, rejects, rejects_file = _row_accounting(inputs.get("examples"))
    summary = {
        "rows": rows,
        "first_rejects": rejects,
        "blocking": sum(f.blocking for f in findings),
        "warnings": sum(not f.blocking and f.kind != "within threshold" for f in findings),
        "drift_compared_with": previous.uri if previous is not None else None,
        "findings": [
            {**dataclasses.asdict(f), "distributions": feature_distributions(shown, f.feature) if f.feature else {}}
            for f in findings
        ],
    }
    with open(output.file(SUMMARY_FILE), "w") as handle:
        json.dump(summary, handle, indent=2)
    write_report(output.file(REPORT_FILE), f"Data validation: {output.final_path}", findings, shown, rows, rejects, rejects_file)
    DataValidation(
        blocking=summary["blocking"], warnings=summary["warnings"], drift_compared_with=summary["drift_compared_with"]
    ).write(output)
    blocking = [f for f in findings if f.blocking]
    if blocking:
        raise AnomaliesFound(
            f"ExampleValidator: {len(blocking)} blocking finding(s) (report: {output.final_path / REPORT_FILE}):\n  "
            + "\n  ".join(str(f) for f in blocking)
        )


SPEC = ComponentSpec(
    run=run,
    params=Params,
    output=DataValidation,
    # `baseline`: training statistics from another run, for `sluice validate`'s skew check.
    inputs={"statistics": Statistics, "schema": Schema, "examples": Examples, "baseline": Statistics},
    optional={"examples", "baseline"},
)
