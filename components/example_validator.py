"""ExampleValidator: checks split statistics against the schema; anomalies stop the run."""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from sluice.artifacts import Artifact, ArtifactDraft
from sluice.errors import SluiceError

ANOMALIES_FILE = "anomalies.pbtxt"


class AnomaliesFound(SluiceError):
    """Split statistics break the schema; the message names each feature and anomaly."""


@dataclasses.dataclass(frozen=True)
class Params:
    """ExampleValidator's parameters.

    Args:
        splits: the splits to validate against the schema.
        environment: the schema environment the splits belong to (used when the schema has environments).
    """

    splits: Sequence[str] = ("eval", "test")
    environment: str = "TRAINING"


def describe_anomalies(split: str, anomalies) -> list[str]:
    """One readable line per anomalous feature."""
    lines = []
    for feature, info in sorted(anomalies.anomaly_info.items()):
        reasons = "; ".join(f"{r.short_description}: {r.description}" for r in info.reason) or info.description
        lines.append(f"split {split!r}, feature {feature!r}: {reasons}")
    if anomalies.HasField("dataset_anomaly_info"):
        reasons = "; ".join(r.description for r in anomalies.dataset_anomaly_info.reason)
        lines.append(f"split {split!r}, dataset: {reasons}")
    return lines


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import tensorflow_data_validation as tfdv

    from components.schema_gen import load_schema
    from components.statistics_gen import load_split_statistics

    schema = load_schema(inputs["schema"])
    environment = params.environment if params.environment in schema.default_environment else None
    problems: list[str] = []
    summary = {}
    for split in params.splits:
        anomalies = tfdv.validate_statistics(
            load_split_statistics(inputs["statistics"], split), schema, environment=environment
        )
        tfdv.write_anomalies_text(anomalies, output.file(split, ANOMALIES_FILE))
        lines = describe_anomalies(split, anomalies)
        summary[split] = {"anomalies": len(lines)}
        problems.extend(lines)
    if problems:
        raise AnomaliesFound("ExampleValidator: the data breaks the schema:\n  " + "\n  ".join(problems))
    output.properties["splits"] = summary
