"""`sluice validate`: serving data against the training statistics of the last run.

Serving rows go through the pipeline's own ExampleGen and StatisticsGen (as the one split
"serving"; CSV rows carry no label column, TFRecord files hold the tf.Examples a client
sent), then ExampleValidator checks them against the last run's schema in the SERVING
environment and for skew against that run's train split. Artifacts go under
`<artifacts>/<pipeline>.serving/<run_id>/`, apart from the pipeline's own runs so that a
serving check is never taken for the previous span of training data.
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


def serving_components(pipeline: Pipeline, serving_file: str | Sequence[str], label: str) -> tuple[Component, Component, Component]:
    """ExampleGen, StatisticsGen and ExampleValidator set up for a serving file (or several patterns)."""
    from sluice.data.rows import CsvFormat, serving_format

    example_gen = pipeline.component("example_gen")
    fmt = serving_format(CsvFormat(**example_gen.params["format"]), label)
    serving_csv = {
        **example_gen.params["format"],
        "columns": [[name, kind] for name, kind in fmt.columns.items()],
        "strip_suffixes": dict(fmt.strip_suffixes),
    }
    patterns = [serving_file] if isinstance(serving_file, str) else list(serving_file)
    sources = [{"pattern": pattern, "splits": {SERVING_SPLIT: 100}} for pattern in patterns]
    example_gen = dataclasses.replace(example_gen, params={**example_gen.params, "sources": sources, "format": serving_csv})
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
        },
        after=(),
    )
    return example_gen, pipeline.component("statistics_gen"), validator


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
    example_gen, statistics_gen, validator = serving_components(pipeline, patterns, label)
    run_dir = Path(run_dir) if run_dir is not None else Path(artifact_root) / f"{pipeline.name}.serving" / new_run_id()
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
