"""The `sluice` command line."""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

import click

from sluice import console, progress
from sluice.config import HOME_ENV, apply_overrides, default_home
from sluice.errors import SluiceError
from sluice.registry import available_pipelines, pipeline_module

# The libraries' own output (TensorFlow, Beam, TFDV, ...) of a run, in its run directory.
RUN_LOG = "sluice.log"

overrides_option = click.option(
    "-o", "--set", "overrides", multiple=True, metavar="SECTION.FIELD=VALUE",
    help="Override a setting, e.g. -o trainer.train_steps=500 -o 'validation.warn_only=[\"fnlwgt\"]'.",
)
home_option = click.option(
    "--home", default=None, help=f"Where artifacts and served models live (default ${HOME_ENV} or ./sluice_home)."
)
verbose_option = click.option(
    "-v", "--verbose", is_flag=True,
    help="Show the libraries' own output (TensorFlow, Beam, TFDV, ...) here too; by default it goes only to a log file.",
)
beam_args_argument = click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
_PASS_UNKNOWN = {"ignore_unknown_options": True, "allow_extra_args": True}


@click.group(help="Sluice: tabular ML pipelines from raw CSV to a served SavedModel.")
def main() -> None:
    from sluice.process import quiet_library_noise

    quiet_library_noise()
    sys.stdout.reconfigure(line_buffering=True)  # keeps its lines in order with the progress lines on stderr


@main.command("init", help=(
    "Write pipeline NAME from a data file: reads it (a CSV with a header, delimiter and quoting "
    "detected, or Parquet), chooses each column's preprocessing from its statistics and says why, "
    "and writes DIR/NAME/ (pipeline.py, preprocessing.py, model.py, schema.draft.pbtxt, dag.py), "
    "which `sluice run NAME` runs as it is."
))
@click.argument("name")
@click.option("--data", "data_file", required=True, help="The data file (.csv, .csv.gz, .parquet).")
@click.option("--label", required=True, help="The column to predict.")
@click.option("--task", type=click.Choice(["auto", "binary", "multiclass", "regression"]), default="auto", show_default=True)
@click.option("--dir", "directory", default=None, help="Where pipelines live (default: the first directory of $SLUICE_PIPELINES, else ./pipelines).")
@click.option("--force", is_flag=True, help="Overwrite an existing pipeline of that name.")
@click.option(
    "--split", default="auto", show_default=True, metavar="auto|hash|stratified|time:COLUMN",
    help="How the file is cut into train, eval and test: auto (stratified by label for classification, "
    "hash for regression), hash, stratified, or time:COLUMN (the earliest rows by COLUMN train, the later ones evaluate and test).",
)
def init_command(name, data_file, label, task, directory, force, split) -> None:
    from sluice.registry import user_pipeline_dirs
    from sluice.scaffold import init_pipeline

    try:
        done = init_pipeline(name, data_file, label, task, directory or next(iter(user_pipeline_dirs()), "pipelines"), force, split)
    except SluiceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{done.rows} rows, {len(done.columns) + 1} columns in {data_file}")
    click.echo(f"  {done.label.name:<24} label: {done.label.reason}")
    for column in done.columns:
        click.echo(f"  {column.name:<24} {column.kind:<17} {column.reason}")
    for cross in done.crosses:
        click.echo(f"  {cross.name:<24} {'location_cross':<17} {cross.reason}")
    click.echo(f"  {'(rows)':<24} {'split':<17} {done.split.reason}")
    click.echo(f"Wrote {done.directory}/ (pipeline.py, preprocessing.py, model.py, schema.draft.pbtxt, dag.py).")
    click.echo(f"Run it: sluice run {name}")


@main.command("list", help="List the pipelines that can be run.")
def list_pipelines() -> None:
    for name in available_pipelines():
        click.echo(name)


def _load_config(name: str, home: str | None, overrides: tuple[str, ...]):
    module = pipeline_module(name)
    config = module.Config(home=home or default_home())
    return module, apply_overrides(config, overrides)


@main.command(
    "run",
    context_settings=_PASS_UNKNOWN,
    help=(
        "Run PIPELINE end to end in this process. Arguments after the pipeline's own options "
        "are Beam pipeline options for every Beam step (default: --runner=DirectRunner "
        "--direct_running_mode=in_memory), e.g. --direct_running_mode=multi_processing "
        "--direct_num_workers=2, or --runner=DataflowRunner --project=... --region=... "
        "--temp_location=gs://..."
    ),
)
@click.argument("pipeline")
@overrides_option
@home_option
@click.option("--run-id", default=None, help="Name of the run directory (default: a timestamp).")
@click.option(
    "--date", "span_date", default=None, metavar="YYYY-MM-DD",
    help="Read that day's span of inputs with {YYYY}-{MM}-{DD} in their pattern (default: the latest span on disk).",
)
@click.option("--span", "span_number", type=int, default=None, help="Read that span of inputs with {SPAN} in their pattern.")
@click.option(
    "--no-library-patches", is_flag=True,
    help="Run Beam, TFDV and tfx-bsl unpatched: sets SLUICE_LIBRARY_PATCHES=off for this run and its child processes.",
)
@click.option("--no-cache", is_flag=True, help="Recompute every step, even those whose inputs, code and settings match an earlier run's.")
@verbose_option
@beam_args_argument
def run_command(pipeline: str, overrides, home, run_id, span_date, span_number, no_library_patches, no_cache, verbose, beam_args) -> None:
    if no_library_patches:
        import os

        from sluice.beam.patches import SWITCH_ENV

        os.environ[SWITCH_ENV] = "off"
    overrides = (
        *overrides,
        *([f"spans.date={span_date}"] if span_date else []),
        *([f"spans.span={span_number}"] if span_number is not None else []),
    )
    _exit_after(lambda: _run(pipeline, overrides, home, run_id, verbose, beam_args, cache=not no_cache))


def _run(name, overrides, home, run_id, verbose, beam_args, cache=True) -> None:
    from sluice.metadata.store import MetadataStore
    from sluice.runner import new_run_id, run_pipeline

    module, config = _load_config(name, home, overrides)
    pipeline = module.create_pipeline(config)
    run_id = run_id or new_run_id()
    _library_output_to(Path(config.artifact_root) / pipeline.name / run_id / RUN_LOG, verbose)
    click.echo(f"Running pipeline {name!r}; artifacts under {config.artifact_root}")
    _print_spans(pipeline)
    started = time.monotonic()
    upcoming = iter(component.name for component in pipeline.components)
    with _progress_shown(verbose), progress.task(
        name, total=len(pipeline.components), unit="components", lines="none", estimate=False
    ) as components:
        components.update(note=next(upcoming))

        def show(outcome) -> None:
            origin = f"  (sealed by an earlier run: {outcome.reused_from})" if outcome.reused_from else ""
            progress.echo(f"  {outcome.component:<18} {'reused' if outcome.reused else 'done'} in {outcome.seconds:6.1f} s{origin}")
            components.advance(note=next(upcoming, ""))

        result = run_pipeline(
            pipeline, config.artifact_root, run_id=run_id, beam_args=beam_args, on_outcome=show,
            store=MetadataStore.for_home(config.home), cache=cache,
        )
    total = time.monotonic() - started
    _print_summary(module, config, pipeline, result, total)


def _print_spans(pipeline) -> None:
    """The spans the run reads, when its inputs have span placeholders."""
    for component in pipeline.components:
        for source in component.params.get("sources", ()):
            if source.get("span") is not None:
                click.echo(f"  {component.name}: span {source['span']} = {source['pattern']}")


def _library_output_to(log_file: Path, verbose: bool) -> None:
    """Unless `verbose`, sends the libraries' output (this process's and its children's) to `log_file`."""
    if not verbose:
        console.send_library_output_to(log_file)


def _progress_shown(verbose: bool):
    """Progress on the console's stderr: live on a terminal, plain lines otherwise and with --verbose
    (the libraries' lines would tear a live display)."""
    display = progress.display_for(console.errors(), live=not verbose, redirect_stdout=sys.stdout.isatty())
    return progress.shown_by(display)


def _print_summary(module, config, pipeline, result, total: float) -> None:
    """Wall times, each component's own summary of its artifact, and a prediction by a model pushed now."""
    from sluice.artifacts import read_artifact
    from sluice.serving.pushed_model import PushedModel

    click.echo(f"\nRun {result.run_id} ({result.run_dir})")
    if console.log_file() is not None:
        click.echo(f"Libraries' output (TensorFlow, Beam, ...): {console.log_file()}")
    click.echo(f"{'component':<18} {'seconds':>8}")
    for outcome in result.outcomes:
        click.echo(f"{outcome.component:<18} {outcome.seconds:8.1f}")
    click.echo(f"{'total':<18} {total:8.1f}")

    pushed_to = None
    for outcome in result.outcomes:
        artifact = read_artifact(outcome.uri)
        summary = pipeline.component(outcome.component).load_spec().summary
        if summary is not None:
            click.echo(f"\n{summary(artifact)}")
        if artifact.type == PushedModel.type_name():
            pushed = PushedModel.of(artifact)
            # a push reused from an earlier run was shown then: no model load on a cached rerun
            if pushed.pushed and not outcome.reused_from:
                pushed_to = pushed.pushed_to
    if pushed_to is not None:
        _print_predictions(module, pushed_to, module.sample_rows_file(config), rows=1)


def _print_predictions(module, model_dir: str, csv_file: str, rows: int) -> None:
    from sluice.data.rows import CsvFormat
    from sluice.modeling.predict import predict_csv

    for p in predict_csv(model_dir, csv_file, CsvFormat(**module.CSV_FORMAT), module.LABEL_KEY, limit=rows):
        features = ", ".join(f"{k}={v}" for k, v in p.features.items())
        click.echo(f"\nPrediction by the served model for {p.file}, row {p.row} (raw, label withheld):")
        click.echo(f"  {features}")
        actual = f"   actual: {p.label}" if p.label is not None else ""
        click.echo(f"  {p.describe(module.LABEL_KEY, getattr(module, 'POSITIVE_LABEL', None))}{actual}")


@main.command("predict", help="Score raw CSV (or Parquet) rows with the latest pushed model of PIPELINE.")
@click.argument("pipeline")
@click.option("--csv", "csv_file", default=None, help="CSV (or Parquet) file in the pipeline's raw format (default: its held-out test file).")
@click.option("--rows", default=5, show_default=True, help="How many rows to score.")
@home_option
@verbose_option
def predict_command(pipeline, csv_file, rows, home, verbose) -> None:
    def predict() -> None:
        from sluice.modeling.predict import latest_version

        module, config = _load_config(pipeline, home, ())
        _library_output_to(_command_log(config, "predict"), verbose)
        model_dir = latest_version(Path(config.serving_root) / module.NAME)
        click.echo(f"Model: {model_dir}")
        _print_predictions(module, str(model_dir), csv_file or module.sample_rows_file(config), rows)

    _exit_after(predict)


@main.command(
    "rollback",
    help=(
        "Serve an earlier version of PIPELINE's pushed model: every version above it is moved "
        "into <serving_dir>/.rolled_back/ (kept, never deleted), so TF Serving and `sluice serve`, "
        "which serve the highest version present, serve it."
    ),
)
@click.argument("pipeline")
@click.option("--to", "to_version", type=int, default=None, help="The version to serve (default: the one below the served one).")
@home_option
def rollback_command(pipeline, to_version, home) -> None:
    from sluice.serving.versions import VersionError, rollback

    module, config = _load_config(pipeline, home, ())
    try:
        done = rollback(Path(config.serving_root) / module.NAME, to_version)
    except VersionError as error:
        raise click.ClickException(str(error)) from None
    click.echo(done.describe())


@main.command(
    "batch-predict",
    context_settings=_PASS_UNKNOWN,
    help=(
        "Score files of raw rows with a pushed model of PIPELINE, as a Beam job (arguments after "
        "the options are Beam pipeline options, as for `run`). --input takes a glob of CSV files in "
        "the pipeline's raw format (label column optional) or TFRecord files of tf.Example. Writes "
        "DIR/predictions-*, DIR/rejects-*.jsonl (file, row, reason) and DIR/summary.json; DIR must not exist."
    ),
)
@click.argument("pipeline")
@click.option("--input", "input_pattern", required=True, help="Glob of input files (CSV, .tfrecord, .tfrecord.gz).")
@click.option("--output", "output_dir", required=True, help="Output directory (created; never overwritten).")
@click.option("--version", type=int, default=None, help="Model version to use (default: the latest pushed).")
@click.option("--format", "output_format", type=click.Choice(["csv", "jsonl", "parquet"]), default="csv", show_default=True)
@click.option("--header/--no-header", default=None, help="The CSV files start with a header line (default: as the pipeline's format says).")
@click.option("--key-column", default=None, help="A column (or tf.Example feature) written beside each prediction.")
@home_option
@verbose_option
@beam_args_argument
def batch_predict_command(pipeline, input_pattern, output_dir, version, output_format, header, key_column, home, verbose, beam_args) -> None:
    def batch_predict() -> None:
        import dataclasses

        from sluice.data.rows import CsvFormat
        from sluice.modeling.predict import latest_version
        from sluice.serving.batch_inputs import ScoringInput
        from sluice.serving.batch_scoring import score_files
        from sluice.serving.raw_features import read_raw_features

        module, config = _load_config(pipeline, home, ())
        _library_output_to(_command_log(config, "batch-predict"), verbose)
        serving_dir = Path(config.serving_root) / module.NAME
        model_dir = latest_version(serving_dir) if version is None else serving_dir / str(version)
        if not model_dir.is_dir():
            raise FileNotFoundError(f"no version {version} under {serving_dir}")
        fmt = CsvFormat(**module.CSV_FORMAT)
        fmt = fmt if header is None else dataclasses.replace(fmt, header=header)
        spec = ScoringInput(fmt, module.LABEL_KEY, read_raw_features(model_dir), key_column)
        click.echo(f"Model: {model_dir}")
        with _progress_shown(verbose):
            done = score_files(str(model_dir), input_pattern, output_dir, spec, output_format, beam_args)
        click.echo(
            f"Rows in {done.rows_read} = scored {done.rows_scored} + rejected {done.rows_rejected} "
            f"({len(done.inputs)} file(s), {done.seconds:.1f} s); output: {done.output}"
        )
        for column, files in done.ignored_columns.items():
            click.echo(f"  column {column!r} ignored (not a model input) in {files} file(s)")

    _exit_after(batch_predict)


@main.command(
    "validate",
    context_settings=_PASS_UNKNOWN,
    help=(
        "Check serving data against the training statistics of PIPELINE's last run: schema "
        "anomalies in the SERVING environment and training/serving skew. --serving takes a "
        "CSV with a header line (columns in any order; extra columns are reported and "
        "ignored, a missing feature is an anomaly), a CSV in the pipeline's raw layout "
        "without the label column, JSON rows of raw features (.jsonl, .json), or a TFRecord "
        "file of tf.Example (.tfrecord, .tfrecord.gz). Exits 1 on a blocking finding."
    ),
)
@click.argument("pipeline")
@click.option("--serving", "serving_file", required=True, help="The serving data file.")
@overrides_option
@home_option
@verbose_option
@beam_args_argument
def validate_command(pipeline, serving_file, overrides, home, verbose, beam_args) -> None:
    def validate() -> None:
        from sluice.artifacts import read_artifact
        from sluice.validation.data_validation import REPORT_FILE, DataValidation
        from sluice.validation.serving_check import validate_serving

        module, config = _load_config(pipeline, home, overrides)
        _library_output_to(_command_log(config, "validate"), verbose)
        pipeline_definition = module.create_pipeline(config)
        with _progress_shown(verbose):
            outcomes = validate_serving(pipeline_definition, config.artifact_root, serving_file, module.LABEL_KEY, beam_args)
        validation = read_artifact(outcomes[-1].uri)
        click.echo(
            f"No blocking finding in {serving_file} ({DataValidation.of(validation).warnings} warning(s)); "
            f"report: {validation.file(REPORT_FILE)}"
        )

    _exit_after(validate)


@main.command("serve", help=(
    "Serve pushed models over TF Serving's REST API (/v1/models/NAME[:predict|:classify|:regress], "
    "/metadata), with /healthz, /readyz and /metrics. PIPELINE serves its pushes "
    "(<home>/serving/PIPELINE); --model-dir adds others. The highest version present is "
    "served; new versions and rollbacks are picked up while serving."
))
@click.argument("pipeline", required=False)
@click.option("--model-dir", "model_dirs", multiple=True, metavar="NAME=PATH", help="Serve the versions under PATH as model NAME (repeatable).")
@click.option("--models-config", default=None, help="A TF Serving models config file (model_config_list of name/base_path).")
@home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 serves other machines too.")
@click.option("--port", default=8501, show_default=True, help="Port (TF Serving's REST port by default).")
@click.option("--max-batch-size", default=1024, show_default=True, help="Rows per model call at most (a larger request runs alone).")
@click.option("--batch-timeout-ms", default=0.0, show_default=True, help="How long a model call that is not full waits for more rows.")
@click.option("--batch-threads", default=1, show_default=True, help="Model calls running at once (TF Serving's num_batch_threads); a second starts only once a quarter of --max-batch-size rows wait.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the port, each with its own copy of the models and its own batching. "
                   "One process parses requests on one core; on a machine with cores to spare, more take more requests of many rows.")
@click.option("--requests-per-connection", default=100, show_default=True, type=click.IntRange(0),
              help="With --workers above 1: a keep-alive connection is closed after this many requests (0: never), "
                   "so that clients' connections move to the least busy worker.")
@click.option("--tf-intra-op-threads", default=0, show_default=True, type=click.IntRange(0),
              help="TensorFlow's intra-op threads per server process (TF Serving's tensorflow_intra_op_parallelism); "
                   "0: TensorFlow's choice, or with --workers N, the cores divided by N.")
@click.option("--tf-inter-op-threads", default=0, show_default=True, type=click.IntRange(0),
              help="TensorFlow's inter-op threads per server process (TF Serving's tensorflow_inter_op_parallelism); 0 as above.")
@click.option("--poll-seconds", default=2.0, show_default=True, help="How often model directories are checked for new or removed versions.")
@click.option("--max-instances", default=10_000, show_default=True, help="Rows per request at most.")
@click.option("--max-body-bytes", default=16 << 20, show_default=True, help="Larger request bodies are refused (413).")
@click.option("--request-log", default=None, help="Directory for a sample of requests' rows (hourly JSON-lines files per model).")
@click.option("--log-sample", default=0.01, show_default=True, type=click.FloatRange(0.0, 1.0), help="Fraction of requests written to --request-log.")
def serve_command(pipeline, model_dirs, models_config, home, host, port, max_batch_size, batch_timeout_ms, batch_threads,
                  workers, requests_per_connection, tf_intra_op_threads, tf_inter_op_threads, poll_seconds, max_instances, max_body_bytes, request_log, log_sample) -> None:
    def serve() -> None:
        from sluice.serving.server import resolve_models, serve as run_server
        from sluice.serving.service import ServingOptions

        serving_root = _load_config(pipeline, home, ())[1].serving_root if pipeline else None
        models = resolve_models(serving_root, pipeline, model_dirs, models_config)
        run_server(ServingOptions(
            models, max_batch_size=max_batch_size, batch_timeout_ms=batch_timeout_ms, batch_threads=batch_threads,
            poll_seconds=poll_seconds,
            max_instances=max_instances, max_body_bytes=max_body_bytes,
            request_log=Path(request_log) if request_log else None, log_sample=log_sample,
        ), host=host, port=port, workers=workers, requests_per_connection=requests_per_connection, intra_op_threads=tf_intra_op_threads, inter_op_threads=tf_inter_op_threads)

    _exit_after(serve)


@main.command("runs", help="The runs of PIPELINE from the run history: status, seconds per component, key metric, pushed version.")
@click.argument("pipeline")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--limit", default=20, show_default=True, help="How many runs, newest first.")
@home_option
def runs_command(pipeline, as_json, limit, home) -> None:
    from sluice.metadata.history import format_history, run_history

    _show_from_store(home, lambda store: run_history(store, pipeline, limit), format_history, as_json)


@main.command("lineage", help="What produced an artifact (its URI) or a pushed model (PIPELINE@VERSION), as a tree.")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a tree.")
@home_option
def lineage_command(target, as_json, home) -> None:
    from sluice.metadata.lineage import format_lineage, lineage

    _show_from_store(home, lambda store: lineage(store, target), format_lineage, as_json)


def _show_from_store(home, read, formatted, as_json: bool) -> None:
    def show() -> None:
        import json

        from sluice.metadata.store import MetadataStore

        found = read(MetadataStore.for_home(home or default_home()))
        click.echo(json.dumps(found, indent=2, default=str) if as_json else formatted(found))

    _exit_after(show)


@main.group("schema", help="The reviewed schema of a pipeline.")
def schema_group() -> None:
    pass


@schema_group.command(
    "freeze",
    help=(
        "Write the schema inferred from the last run's train statistics to "
        "the pipeline's reviewed_schema file (census: pipelines/census/schema.pbtxt) for review (environments, presence, unseen-category "
        "share, skew/drift thresholds added). Later runs use the reviewed file."
    ),
)
@click.argument("pipeline")
@overrides_option
@home_option
@click.option("--force", is_flag=True, help="Replace an existing reviewed schema.")
@verbose_option
def freeze_command(pipeline, overrides, home, force, verbose) -> None:
    def freeze() -> None:
        from sluice.validation.schema_freeze import freeze as freeze_schema
        from sluice.validation.serving_check import last_training_statistics

        module, config = _load_config(pipeline, home, overrides)
        _library_output_to(_command_log(config, "schema-freeze"), verbose)
        statistics = last_training_statistics(config.artifact_root, module.NAME)
        written = freeze_schema(statistics, module.LABEL_KEY, config.reviewed_schema, force=force)
        click.echo(f"Wrote {written} from {statistics.uri}; review it, then commit it.")

    _exit_after(freeze)


def _command_log(config, command: str) -> Path:
    """Where a command other than `run` logs the libraries' output: under the home's logs/."""
    return Path(config.home) / "logs" / f"{command}.log"


def _exit_after(action) -> None:
    """Runs `action`, then leaves through exit_now: TFT work crashes a normal interpreter exit.

    An error reaches the console (a SluiceError as its message, anything else with its
    traceback) and the log, with the log's path.
    """
    from sluice.process import exit_now

    try:
        action()
    except Exception as error:
        shown = console.errors()
        if not isinstance(error, (SluiceError, FileNotFoundError)):
            traceback.print_exc(file=shown)
        click.echo(f"error: {error}", file=shown)
        if console.log_file() is not None:
            traceback.print_exc()  # the log keeps it beside the libraries' lines
            click.echo(f"full log: {console.log_file()}", file=shown)
        exit_now(1)
    exit_now(0)


if __name__ == "__main__":
    main(sys.argv[1:])
