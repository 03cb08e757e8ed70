"""The DataValidation artifact (ExampleValidator's): findings, summary and report.

`sluice validate` reads it after a serving check; ExampleValidator writes it.
"""

from __future__ import annotations

from sluice.artifacts import ArtifactProperties

ANOMALIES_FILE = "anomalies.pbtxt"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"


class DataValidation(ArtifactProperties):
    """How many findings block and warn, and the previous statistics drift was measured against."""

    blocking: int
    warnings: int
    drift_compared_with: str | None = None
