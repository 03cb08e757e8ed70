"""Batch scoring: a Beam job that scores files of raw rows with a pushed SavedModel.

    input files -> ReadRows (keyed tf.Examples | rejects) -> Spread -> RunInference -> predictions

Rows become tf.Examples as the REST server makes them (`sluice.serving.batch_inputs`);
Beam's `RunInference` batches them (`SavedModelHandler.batch_elements_kwargs`) through the
SavedModel's `serving_default`, the signature `predict_raw` calls. The model is loaded once
per worker process: RunInference keeps a handler's model in a process-wide shared handle,
so every thread of a worker uses the same one.

The output directory holds `predictions-*.{csv,jsonl,parquet}` (the row's file and row
number, its key column if one is configured, and each output of the signature),
`rejects-*.jsonl` (file, row, column, reason) and `summary.json`. The job writes into a
staging directory beside the output and renames it into place only when the rows add up
(read = scored + rejected), so a failed or interrupted job leaves nothing that looks
finished, and an existing output directory is never overwritten.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from typing import Any, Iterable, Mapping, Sequence

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from sluice.data.rows import BadInputError, RowError, is_tfrecord
from sluice.errors import RowCountMismatch, SluiceError
from sluice.modeling.op_libraries import custom_ops
from sluice.serving.batch_inputs import IgnoredColumns, ScoringInput, read_scoring_input

NAMESPACE = "batch_scoring"
FORMATS = ("csv", "jsonl", "parquet")
SUMMARY_FILE = "summary.json"
# RunInference's batches: from 64 rows (BatchElements would start at 1 and grow slowly) to
# 512; past a few hundred rows per call the call's own overhead is already small.
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 64, 512


class OutputExists(SluiceError):
    """The output directory exists; batch scoring never overwrites one."""


class SavedModelHandler(ModelHandler[bytes, PredictionResult, Any]):
    """RunInference's handler for an exported SavedModel: serialized raw tf.Examples in,
    each row's outputs of `serving_default` ({"probability": ...}) out."""

    def __init__(self, model_dir: str, min_batch_size: int = MIN_BATCH_SIZE, max_batch_size: int = MAX_BATCH_SIZE):
        super().__init__()
        self.model_dir = model_dir
        self.min_batch_size = min_batch_size
        self.max_batch_size = max_batch_size

    def load_model(self):
        from sluice.modeling.export import load_serving_model

        return load_serving_model(self.model_dir)

    def run_inference(self, batch: Sequence[bytes], model, inference_args=None) -> Iterable[PredictionResult]:
        import tensorflow as tf

        from sluice.modeling.export import RAW_SIGNATURE

        outputs = model.signatures[RAW_SIGNATURE](examples=tf.constant(list(batch), dtype=tf.string))
        columns = {name: tensor.numpy().tolist() for name, tensor in sorted(outputs.items())}
        return [
            PredictionResult(example, {name: values[index] for name, values in columns.items()})
            for index, example in enumerate(batch)
        ]

    def get_num_bytes(self, batch: Sequence[bytes]) -> int:
        return sum(len(example) for example in batch)

    def batch_elements_kwargs(self) -> Mapping[str, Any]:
        return {"min_batch_size": self.min_batch_size, "max_batch_size": self.max_batch_size}

    def get_metrics_namespace(self) -> str:
        return NAMESPACE


@dataclasses.dataclass(frozen=True)
class BatchScoring:
    """The outcome of one batch-scoring job, as `summary.json` records it."""

    output: str
    model_dir: str
    inputs: list[str]
    format: str
    rows_read: int
    rows_scored: int
    rows_rejected: int
    ignored_columns: dict[str, int]  # column -> files that had it (not a model input)
    seconds: float


class _ReadRows(beam.DoFn):
    """A file path -> its keyed tf.Examples; rejects to the "rejects" output; counted."""

    def __init__(self, spec: ScoringInput):
        self.spec = spec

    def process(self, path: str):
        from apache_beam.metrics import Metrics

        read = Metrics.counter(NAMESPACE, "rows_read")
        rejected = Metrics.counter(NAMESPACE, "rows_rejected")
        for item in read_scoring_input(path, self.spec):
            if isinstance(item, IgnoredColumns):
                for column in item.columns:
                    Metrics.counter(NAMESPACE, f"ignored_column:{column}").inc()
                continue
            read.inc()
            if isinstance(item, RowError):
                rejected.inc()
                yield beam.pvalue.TaggedOutput("rejects", json.dumps(dataclasses.asdict(item)))
            else:
                yield (item.file, item.row, item.key), item.example


class _PredictionRecord(beam.DoFn):
    """(key, PredictionResult) -> {"file", "row", [key column], each output}; counted."""

    def __init__(self, key_column: str | None):
        self.key_column = key_column

    def setup(self):
        from apache_beam.metrics import Metrics

        self.scored = Metrics.counter(NAMESPACE, "rows_scored")

    def process(self, keyed_result):
        (file, row, key), result = keyed_result
        self.scored.inc()
        record: dict[str, Any] = {"file": file, "row": row}
        if self.key_column:
            record[self.key_column] = key
        record.update(result.inference)
        yield record


def _csv_line(record: Mapping[str, Any], columns: Sequence[str]) -> str:
    import csv
    import io

    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow(["" if record[c] is None else record[c] for c in columns])
    return text.getvalue()


def _write_predictions(records, staging: str, fmt: str, columns: Sequence[str], output_types: Mapping[str, str]):
    prefix = os.path.join(staging, "predictions")
    if fmt == "csv":
        return (
            records
            | "FormatCsv" >> beam.Map(_csv_line, list(columns))
            | "WriteCsv" >> beam.io.WriteToText(prefix, file_name_suffix=".csv", header=",".join(columns))
        )
    if fmt == "jsonl":
        return (
            records
            | "FormatJson" >> beam.Map(json.dumps)
            | "WriteJsonLines" >> beam.io.WriteToText(prefix, file_name_suffix=".jsonl")
        )
    import pyarrow as pa

    arrow = {"string": pa.string(), "int": pa.int64(), "float": pa.float64()}
    schema = pa.schema([(name, arrow[output_types[name]]) for name in columns])
    return records | "WriteParquet" >> beam.io.WriteToParquet(prefix, schema, file_name_suffix=".parquet")


def _output_columns(model_dir: str, key_column: str | None) -> tuple[list[str], dict[str, str]]:
    """The predictions' columns in order, each with its type ("string", "int" or "float").

    Read from the SavedModel's signature definition, without loading the model: the job's
    workers load it, the launcher need not.
    """
    import tensorflow as tf

    from sluice.modeling.export import RAW_SIGNATURE
    from sluice.modeling.op_libraries import read_saved_model

    outputs = read_saved_model(model_dir).meta_graphs[0].signature_def[RAW_SIGNATURE].outputs
    types = {"file": "string", "row": "int"}
    if key_column:
        types[key_column] = "string"
    for name, info in sorted(outputs.items()):
        dtype = tf.dtypes.as_dtype(info.dtype)
        types[name] = "int" if dtype.is_integer else "string" if dtype == tf.string else "float"
    return list(types), types


def matched_files(pattern: str) -> list[str]:
    from apache_beam.io.filesystems import FileSystems

    files = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    if not files:
        raise BadInputError(f"batch scoring: no file matches {pattern}")
    return files


def score_files(
    model_dir: str,
    input_pattern: str,
    output_dir: str,
    spec: ScoringInput,
    output_format: str = "csv",
    beam_args: Sequence[str] = (),
) -> BatchScoring:
    """Scores every row of the files matching `input_pattern` into `output_dir` (a Beam job).

    Raises:
        OutputExists: `output_dir` exists.
        BadInputError: no file matches `input_pattern`.
        RowCountMismatch: rows read != rows scored + rows rejected (nothing is written).
        sluice.beam.jobs.DryRunBuilt: with `--dry_run`; nothing is written.
    """
    from apache_beam.io.filesystems import FileSystems

    from sluice.beam.jobs import new_pipeline, run_and_count
    if output_format not in FORMATS:
        raise ValueError(f"output format {output_format!r} is not one of {FORMATS}")
    if FileSystems.exists(output_dir):
        raise OutputExists(f"{output_dir} already exists; batch scoring never overwrites an output, name a new one")
    started = time.monotonic()
    files = matched_files(input_pattern)
    if not all(is_tfrecord(path) for path in files):
        spec.check_csv()
    columns, types = _output_columns(model_dir, spec.key_column)
    staging = _staging_dir(output_dir)
    try:
        pipeline = new_pipeline(beam_args, worker_imports=["tensorflow", *custom_ops(model_dir)["libraries"]])
        read = (
            pipeline
            | "ListInputFiles" >> beam.Create(files)
            | "ReadRows" >> beam.ParDo(_ReadRows(spec)).with_outputs("rejects", main="examples")
        )
        _ = (
            read.examples
            | "Spread" >> beam.Reshuffle()
            | "Score" >> _run_inference(model_dir)
            | "Record" >> beam.ParDo(_PredictionRecord(spec.key_column))
            | "WritePredictions" >> _WritePredictions(staging, output_format, columns, types)
        )
        _ = read.rejects | "WriteRejects" >> beam.io.WriteToText(os.path.join(staging, "rejects"), file_name_suffix=".jsonl")
        counters = run_and_count(pipeline, NAMESPACE)
        outcome = BatchScoring(
            output=output_dir,
            model_dir=str(model_dir),
            inputs=files,
            format=output_format,
            rows_read=counters.get("rows_read", 0),
            rows_scored=counters.get("rows_scored", 0),
            rows_rejected=counters.get("rows_rejected", 0),
            ignored_columns=_ignored_columns(counters),
            seconds=round(time.monotonic() - started, 3),
        )
        if outcome.rows_read != outcome.rows_scored + outcome.rows_rejected:
            raise RowCountMismatch(
                f"batch scoring: read {outcome.rows_read} rows but scored {outcome.rows_scored} and rejected "
                f"{outcome.rows_rejected}; nothing was written to {output_dir}"
            )
        with FileSystems.create(os.path.join(staging, SUMMARY_FILE)) as handle:
            handle.write((json.dumps(dataclasses.asdict(outcome), indent=2) + "\n").encode())
        _move_into_place(staging, output_dir)
        return outcome
    finally:
        _remove(staging)


class _WritePredictions(beam.PTransform):
    def __init__(self, staging: str, fmt: str, columns: Sequence[str], types: Mapping[str, str]):
        super().__init__()
        self.args = staging, fmt, columns, types

    def expand(self, records):
        return _write_predictions(records, *self.args)


def _run_inference(model_dir: str):
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

    return RunInference(KeyedModelHandler(SavedModelHandler(model_dir)))


def _ignored_columns(counters: Mapping[str, int]) -> dict[str, int]:
    """{column: the number of files that had it} from the `ignored_column:<name>` counters."""
    prefix = "ignored_column:"
    return {name[len(prefix):]: count for name, count in sorted(counters.items()) if name.startswith(prefix) and count}


def _staging_dir(output_dir: str) -> str:
    """A fresh directory beside `output_dir` (local), or a unique prefix beside it (remote)."""
    from apache_beam.io.filesystems import FileSystems

    parent, name = os.path.split(output_dir.rstrip("/"))
    if FileSystems.get_scheme(output_dir) is None:
        os.makedirs(parent or ".", exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{name}.staging-", dir=parent or ".")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp's 0700 would outlive the rename
        return staging
    return FileSystems.join(parent, f".{name}.staging-{os.urandom(6).hex()}")


def _move_into_place(staging: str, output_dir: str) -> None:
    """Local: one rename of the whole directory. Remote file systems have no directory
    rename: each file is renamed, `summary.json` last, so its presence marks a complete output."""
    from apache_beam.io.filesystems import FileSystems

    if FileSystems.get_scheme(output_dir) is None:
        try:
            os.rename(staging, output_dir)
        except OSError as error:
            raise OutputExists(f"{output_dir} appeared while the job ran; the output is left in {staging}") from error
        return
    found = sorted(m.path for m in FileSystems.match([FileSystems.join(staging, "*")])[0].metadata_list)
    found.sort(key=lambda path: path.endswith(SUMMARY_FILE))
    FileSystems.rename(found, [FileSystems.join(output_dir, os.path.basename(path)) for path in found])


def _remove(staging: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    if FileSystems.get_scheme(staging) is None:
        shutil.rmtree(staging, ignore_errors=True)
    elif FileSystems.exists(staging):
        FileSystems.delete([staging])
