"""Monitoring: one interval of the serving request log against the served model's training data.

The request log is a directory of files, each holding the raw feature rows served in one
period (hourly files, say), with that period's start in its name (`2026-01-02T13.jsonl`,
`20260102-13.csv`, `2026-01-02.csv`; a name without one counts by its modification time):

- JSON lines, one request row a line: `{"features": {"age": 39, ...}}` (`.jsonl`, `.json`);
- CSV in the pipeline's serving format: its raw columns without the label (`.csv`).

`check_interval` finds the files of a data interval, the model being served (the highest
version in `<serving root>/<pipeline>/`) and the run that pushed it, then runs that run's
ExampleGen, StatisticsGen and ExampleValidator on the rows (`sluice.validation.serving_check`):
statistics of the interval, schema anomalies in the SERVING environment and skew against
the training statistics, with the reviewed schema's thresholds, and the HTML report.
Artifacts go under `<artifacts>/<pipeline>.monitoring/<run name>/`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Iterable, Sequence

from sluice.artifacts import ARTIFACT_FILE, read_artifact
from sluice.errors import SluiceError

JSON_SUFFIXES = (".jsonl", ".json")
CSV_SUFFIXES = (".csv",)
PUSHED_MODEL_TYPE = "PushedModel"
# 2026-01-02T13, 2026-01-02_13, 20260102T13, 20260102-13, 2026-01-02 (a whole day).
_STAMP = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?:[T_ -]?(\d{2}))?(?!\d)")


class NothingServed(SluiceError):
    """No model is being served, or no run records pushing it."""


@dataclasses.dataclass(frozen=True)
class MonitoringResult:
    """One interval's check: what was read, against what, and what was found."""

    files: list[str]
    rows: int
    served_version: int
    training_run: str
    blocking: int
    warnings: int
    report: str
    validation: str


def file_start(path: Path) -> dt.datetime:
    """When the period a request-log file holds starts: the stamp in its name, else its mtime."""
    match = _STAMP.search(path.name)
    if match:
        year, month, day, hour = match.groups()
        try:
            return dt.datetime(int(year), int(month), int(day), int(hour or 0), tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc)


def interval_files(directory: str | Path, start: dt.datetime, end: dt.datetime) -> list[Path]:
    """The request-log files of [start, end), oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    files = [p for p in directory.rglob("*") if p.is_file() and p.suffix in JSON_SUFFIXES + CSV_SUFFIXES]
    return sorted((p for p in files if start <= file_start(p) < end), key=lambda p: (file_start(p), p.name))


def rows_to_csv(json_files: Iterable[Path], columns: Sequence[str], missing: str, out: Path) -> int:
    """Writes the `features` of each JSON line as one CSV row of `columns` (absent: `missing`); returns the row count."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for path in json_files:
            with open(path, encoding="utf-8") as lines:
                for number, line in enumerate(lines, 1):
                    if not line.strip():
                        continue
                    try:
                        features = json.loads(line)["features"]
                    except (json.JSONDecodeError, KeyError, TypeError):
                        raise SluiceError(f"{path}, line {number}: not a request-log row {{\"features\": {{...}}}}") from None
                    writer.writerow([missing if features.get(c) is None else features[c] for c in columns])
                    count += 1
    return count


def served_version(serving_dir: str | Path) -> int:
    """The version a server serves: the highest one present (`sluice.serving.versions`)."""
    from sluice.serving import versions

    served = versions.served_version(serving_dir)
    if served is None:
        raise NothingServed(f"no model version under {serving_dir}")
    return served


def run_that_pushed(artifact_root: str | Path, pipeline: str, version: int) -> Path:
    """The run directory whose pusher artifact records pushing `version`."""
    for sealed in sorted(Path(artifact_root, pipeline).glob(f"*/*/{ARTIFACT_FILE}")):
        artifact = read_artifact(sealed.parent)
        if artifact.type == PUSHED_MODEL_TYPE and artifact.properties.get("version") == version:
            return sealed.parent.parent
    raise NothingServed(f"no run of {pipeline!r} under {artifact_root} records pushing version {version}")


def check_interval(
    pipeline_name: str,
    overrides: Sequence[str],
    request_log: str | Path,
    start: dt.datetime,
    end: dt.datetime,
    run_name: str,
    beam_args: Sequence[str] = (),
) -> MonitoringResult | None:
    """Checks the request-log rows of [start, end); None when there are none.

    Raises:
        NothingServed: no model is served, or its training run is gone.
    """
    from sluice.config import apply_overrides
    from sluice.data.rows import CsvFormat, serving_format
    from sluice.errors import GateClosed
    from sluice.registry import pipeline_module
    from sluice.validation.data_validation import REPORT_FILE, DataValidation
    from sluice.validation.serving_check import validate_serving

    files = interval_files(request_log, start, end)
    if not files:
        return None
    module = pipeline_module(pipeline_name)
    config = apply_overrides(module.Config(), list(overrides))
    pipeline = module.create_pipeline(config)
    version = served_version(Path(config.serving_root) / pipeline_name)
    training_run = run_that_pushed(config.artifact_root, pipeline_name, version)

    run_dir = Path(config.artifact_root) / f"{pipeline_name}.monitoring" / run_name
    fmt = serving_format(CsvFormat(**pipeline.component("example_gen").params["format"]), module.LABEL_KEY)
    json_files = [p for p in files if p.suffix in JSON_SUFFIXES]
    patterns = [str(p) for p in files if p.suffix in CSV_SUFFIXES]
    rows = 0
    if json_files:
        converted = run_dir / "request_rows" / "rows.csv"
        rows += rows_to_csv(json_files, list(fmt.columns), (list(fmt.missing_values) or [""])[0], converted)
        patterns.append(str(converted))
    try:
        outcomes = validate_serving(
            pipeline, config.artifact_root, patterns, module.LABEL_KEY, beam_args, training_run=training_run, run_dir=run_dir
        )
        validation = read_artifact(outcomes[-1].uri)
    except GateClosed:
        validation = read_artifact(run_dir / "serving_validator")
    examples = read_artifact(run_dir / "example_gen")
    recorded = DataValidation.of(validation)
    return MonitoringResult(
        files=[str(p) for p in files],
        rows=examples.properties["rows"]["written"] if examples.properties.get("rows") else rows,
        served_version=version,
        training_run=str(training_run),
        blocking=recorded.blocking,
        warnings=recorded.warnings,
        report=validation.file(REPORT_FILE),
        validation=validation.uri,
    )


def _check_request(request: dict) -> dict:
    result = check_interval(
        request["pipeline"],
        request["overrides"],
        request["request_log"],
        dt.datetime.fromisoformat(request["start"]),
        dt.datetime.fromisoformat(request["end"]),
        request["run_name"],
        request["beam_args"],
    )
    return {"result": dataclasses.asdict(result) if result else None}


def check_in_child(
    pipeline_name: str, overrides, request_log, start: dt.datetime, end: dt.datetime, run_name: str, beam_args=()
) -> dict | None:
    """`check_interval` in a fresh process (TFDV and Beam stay out of the caller, an Airflow task)."""
    from sluice.process import call_in_child

    reply = call_in_child(
        "sluice.monitoring",
        {
            "pipeline": pipeline_name, "overrides": list(overrides), "request_log": str(request_log),
            "start": start.isoformat(), "end": end.isoformat(), "run_name": run_name, "beam_args": list(beam_args),
        },
    )
    if "error" in reply:
        raise SluiceError(f"monitoring {pipeline_name!r} failed: {reply['error']}")
    return reply["result"]


if __name__ == "__main__":
    from sluice.process import answer_parent

    answer_parent(_check_request)
