"""`sluice validate`: serving data against the training statistics of the last run.

Serving rows go through the pipeline's own ExampleGen and StatisticsGen (as the one split
"serving"), then ExampleValidator checks them against the last run's schema in the SERVING
environment and for skew against that run's train split. Artifacts go under
`<artifacts>/<pipeline>.serving/<run_id>/`, apart from the pipeline's own runs so that a
serving check is never taken for the previous span of training data.

A serving file is one of:
- CSV with a header line (found by its fields being column names): columns in any order;
  a column the pipeline does not read (the label, say) is reported and ignored, and a
  missing feature is an anomaly that names it;
- CSV without a header, in the pipeline's raw layout without the label column;
- JSON rows of raw features (`.jsonl`, `.json`: one object a line, or an array of them),
  with the same rules for extra and missing columns as a CSV header;
- TFRecord files of the tf.Examples a client sent (`.tfrecord`, `.tfrecord.gz`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

from sluice.artifacts import Artifact, latest_artifact, read_artifact
from sluice.errors import SluiceError
from sluice.execute import Outcome, execute
from sluice.pipeline import Component, Pipeline
from sluice.runner import new_run_id

SERVING_SPLIT = "serving"


class NoTrainingRun(SluiceError):
    """There are no training statistics to compare with."""


def last_training_statistics(artifact_root: str, pipeline: str) -> Artifact:
    """The newest statistics_gen artifact among the pipeline's runs."""
    latest = latest_artifact(Path(artifact_root) / pipeline, "statistics_gen")
    if latest is None:
        raise NoTrainingRun(f"no run of {pipeline!r} under {artifact_root} has statistics; run `sluice run {pipeline}` first")
    return latest


@dataclasses.dataclass(frozen=True)
class ServingLayout:
    """How a serving file's columns meet the pipeline's raw features.

    Args:
        format: the CsvFormat that reads it (the columns it has, with `header` when it has one).
        extra_columns: its columns that are not raw features (reported, ignored).
    """

    format: object  # sluice.data.rows.CsvFormat
    extra_columns: tuple[str, ...] = ()


def serving_layout(serving_file: str, training_format, label: str) -> ServingLayout:
    """The layout of a CSV serving file: a header line when its first line names columns."""
    from apache_beam.io.filesystems import FileSystems

    from sluice.data.rows import first_line_fields, is_tfrecord, looks_like_header, serving_format

    fmt = serving_format(training_format, label)
    if is_tfrecord(serving_file):
        return ServingLayout(fmt)
    handle = FileSystems.open(serving_file)
    try:
        fields = first_line_fields(handle, fmt)
    finally:
        handle.close()
    if fields is None or not looks_like_header(fields, list(training_format.columns)):
        return ServingLayout(fmt)
    columns = {name: kind for name, kind in fmt.columns.items() if name in fields}
    suffixes = {name: suffix for name, suffix in fmt.strip_suffixes.items() if name in columns}
    read = dataclasses.replace(fmt, columns=columns, strip_suffixes=suffixes, header=True)
    return ServingLayout(read, tuple(field for field in fields if field not in columns))


def serving_components(
    pipeline: Pipeline, serving_file: str | Sequence[str], label: str, layout: ServingLayout | None = None
) -> tuple[Component, Component, Component]:
    """ExampleGen, StatisticsGen and ExampleValidator set up for a serving file, or several
    patterns (in `layout`, by default the pipeline's raw layout without the label)."""
    from sluice.data.rows import CsvFormat, serving_format

    example_gen = pipeline.component("example_gen")
    fmt = layout.format if layout else serving_format(CsvFormat(**example_gen.params["format"]), label)
    serving_csv = {
        **example_gen.params["format"],
        "columns": [[name, kind] for name, kind in fmt.columns.items()],
        "header": fmt.header,
        "strip_suffixes": dict(fmt.strip_suffixes),
    }
    patterns = [serving_file] if isinstance(serving_file, str) else list(serving_file)
    sources = [{"pattern": pattern, "splits": {SERVING_SPLIT: 100}} for pattern in patterns]
    # Serving rows have no label, and one split: how training rows are split does not apply.
    training_only = ("label", "stratify_by", "time_column", "split_key")
    params = {key: value for key, value in example_gen.params.items() if key not in training_only}
    example_gen = dataclasses.replace(example_gen, params={**params, "sources": sources, "format": serving_csv})
    training_validator = pipeline.component("example_validator")
    validator = dataclasses.replace(
        training_validator,
        name="serving_validator",
        inputs={"statistics": "statistics_gen", "schema": "schema_gen", "baseline": "statistics_gen", "examples": "example_gen"},
        params={
            "splits": [SERVING_SPLIT],
            "environment": "SERVING",
            "skew_training_split": "train",
            "skew_serving_split": SERVING_SPLIT,
            "warn_only": training_validator.params.get("warn_only", []),
            "extra_columns": list(layout.extra_columns) if layout else [],
        },
        after=(),
    )
    return example_gen, pipeline.component("statistics_gen"), validator


def _readable(pipeline: Pipeline, serving_file: str, label: str, run_dir: Path) -> tuple[str, ServingLayout]:
    """The file ExampleGen reads for `serving_file`, and its layout: JSON rows become a TFRecord file."""
    from apache_beam.io.filesystems import FileSystems

    from sluice.data.json_rows import is_json_rows, write_json_rows_as_examples
    from sluice.data.rows import CsvFormat, serving_format

    training_format = CsvFormat(**pipeline.component("example_gen").params["format"])
    if not is_json_rows(serving_file):
        return serving_file, serving_layout(serving_file, training_format, label)
    fmt = serving_format(training_format, label)
    run_dir.mkdir(parents=True, exist_ok=True)
    records = str(run_dir / "serving_rows.tfrecord")
    handle = FileSystems.open(serving_file)
    try:
        _, extra = write_json_rows_as_examples(handle, serving_file, fmt.columns, records)
    finally:
        handle.close()
    return records, ServingLayout(fmt, tuple(extra))


def validate_serving(
    pipeline: Pipeline,
    artifact_root: str,
    serving_file: str | Sequence[str],
    label: str,
    beam_args: Sequence[str] = (),
    *,
    training_run: str | Path | None = None,
    run_dir: str | Path | None = None,
) -> list[Outcome]:
    """Runs the serving check; raises GateClosed (after sealing the report) on blocking findings.

    Compares with `training_run`'s statistics and schema (default: the last run's), and
    writes under `run_dir` (default: a new run of `<pipeline>.serving`).
    """
    if training_run is None:
        baseline = last_training_statistics(artifact_root, pipeline.name)
    else:
        baseline = read_artifact(Path(training_run) / "statistics_gen")
    schema_uri = baseline.path.parent / "schema_gen"
    if not (schema_uri / "artifact.json").exists():
        raise NoTrainingRun(f"run {baseline.path.parent} has statistics but no schema; run `sluice run {pipeline.name}` again")
    patterns = [serving_file] if isinstance(serving_file, str) else list(serving_file)
    patterns = [p if "://" in p else str(Path(p).resolve()) for p in patterns]
    run_dir = Path(run_dir) if run_dir is not None else Path(artifact_root) / f"{pipeline.name}.serving" / new_run_id()
    layout = None
    if len(patterns) == 1:  # one file a person gives: its header, column order or JSON rows are read as they are
        readable, layout = _readable(pipeline, patterns[0], label, run_dir)
        patterns = [readable]
    example_gen, statistics_gen, validator = serving_components(pipeline, patterns, label, layout)
    outcomes = [execute(example_gen, run_dir, {}, beam_args)]
    outcomes.append(execute(statistics_gen, run_dir, {"examples": outcomes[0].uri}, beam_args))
    outcomes.append(
        execute(
            validator,
            run_dir,
            {"statistics": outcomes[1].uri, "schema": str(schema_uri), "baseline": baseline.uri, "examples": outcomes[0].uri},
            beam_args,
        )
    )
    return outcomes
