"""ExampleGen: CSV (or TFRecord) files -> TFRecord files of tf.Example, one directory per split.

A Beam job: each source file is read with its row numbers, every row is typed and hashed
into a split, and rows that cannot become examples (wrong field count, a value that is
not a number, bad encoding) go to a rejects file with their file, row and reason. No row
disappears without being counted: rows read = rows written + rows rejected, checked. When
the rejected share exceeds `max_reject_fraction` (default 0) the run fails naming them,
no artifact is written, and the rejects are kept beside the run as
`<run_dir>/example_gen.rejects.jsonl`.

TFRecord sources (.tfrecord, .tfrecord.gz) are taken as serialized tf.Example, untyped,
so TFDV can report a type change instead of ExampleGen rejecting it.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import shutil
from typing import Any, Mapping, Sequence

from components.example_gen.rows import (
    BadInputError,
    CsvFormat,
    Record,
    Row,
    RowError,
    assign_split,
    check_example,
    encode_example,
    is_tfrecord,
    read_records,
    read_rows,
    split_for_key,
    typed_values,
)
from sluice.artifacts import Artifact, ArtifactDraft
from sluice.config import ConfigError
from sluice.errors import RowCountMismatch

_MAX_ERRORS_SHOWN = 20
_METRICS_NAMESPACE = "example_gen"
_REJECTS_DIR = "rejects"


@dataclasses.dataclass(frozen=True)
class Params:
    """ExampleGen's parameters.

    Args:
        sources: each {"pattern": glob of CSV files (.gz read as gzip) or of TFRecord
            files of tf.Example, "splits": {name: percent}}.
        format: a CsvFormat as a dict: columns, header, comment_prefix, missing_values, strip_suffixes.
        max_reject_fraction: the share of rows that may be rejected before the run fails.
        num_shards: output files per split; 0 lets the runner decide.
    """

    sources: Sequence[Mapping[str, Any]]
    format: Mapping[str, Any]
    max_reject_fraction: float = 0.0
    num_shards: int = 0

    def __post_init__(self):
        for source in self.sources:
            if sum(source["splits"].values()) != 100:
                raise ConfigError(f"ExampleGen source {source['pattern']}: split percentages must add up to 100")
        if not 0 <= self.max_reject_fraction <= 1:
            raise ConfigError(f"ExampleGen: max_reject_fraction must be within [0, 1], not {self.max_reject_fraction}")

    def csv_format(self) -> CsvFormat:
        return CsvFormat(**self.format)

    def split_names(self) -> list[str]:
        """Every split once, in the order the sources name them."""
        return list(dict.fromkeys(name for source in self.sources for name in source["splits"]))


def _matched_files(pattern: str) -> list[str]:
    from apache_beam.io.filesystems import FileSystems

    files = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    if not files:
        raise BadInputError(f"ExampleGen: no file matches {pattern}")
    return files


def _read_file(source: tuple[str, Mapping[str, int]], fmt: CsvFormat):
    from apache_beam.io.filesystems import FileSystems

    path, splits = source
    if is_tfrecord(path):
        for item in read_records(path):
            yield item, splits
        return
    with FileSystems.open(path) as handle:
        for item in read_rows(handle, path, fmt):
            yield item, splits


class _ExampleFromRow:
    """Maps (Row | Record | RowError, splits) to (split index, example bytes), or a
    RowError to the "rejects" output; counts every row read, written and rejected."""

    def __init__(self, fmt: CsvFormat, split_names: Sequence[str]):
        self.fmt = fmt
        self.split_names = list(split_names)

    def __call__(self, item):
        import apache_beam as beam
        from apache_beam.metrics import Metrics

        parsed, splits = item
        Metrics.counter(_METRICS_NAMESPACE, "rows_read").inc()
        if isinstance(parsed, Row):
            values = typed_values(parsed, self.fmt)
            if not isinstance(values, RowError):
                yield self._written(assign_split(parsed, splits), encode_example(values, self.fmt))
                return
            parsed = values
        elif isinstance(parsed, Record):
            error = check_example(parsed)
            if error is None:
                yield self._written(split_for_key(parsed.data, splits), parsed.data)
                return
            parsed = error
        Metrics.counter(_METRICS_NAMESPACE, "rows_rejected").inc()
        yield beam.pvalue.TaggedOutput("rejects", parsed)

    def _written(self, split: str, example: bytes):
        from apache_beam.metrics import Metrics

        Metrics.counter(_METRICS_NAMESPACE, f"rows_{split}").inc()
        return self.split_names.index(split), example


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import apache_beam as beam

    from sluice.beam_jobs import pipeline_options, run_and_count

    fmt = params.csv_format()
    split_names = params.split_names()
    files = [(path, dict(s["splits"])) for s in params.sources for path in _matched_files(s["pattern"])]

    pipeline = beam.Pipeline(options=pipeline_options(beam_args))
    parsed = (
        pipeline
        | "ListSourceFiles" >> beam.Create(files)
        | "ReadNumberedRows" >> beam.FlatMap(_read_file, fmt)
        | "ParseAndSplit" >> beam.FlatMap(_ExampleFromRow(fmt, split_names)).with_outputs("rejects", main="examples")
    )
    by_split = parsed.examples | "PartitionBySplit" >> beam.Partition(lambda kv, n: kv[0], len(split_names))
    for index, name in enumerate(split_names):
        _ = (
            by_split[index]
            | f"DropSplitIndex{name.title()}" >> beam.Map(lambda kv: kv[1])
            | f"Write{name.title()}Examples"
            >> beam.io.WriteToTFRecord(
                output.file(name, "data"), file_name_suffix=".tfrecord", num_shards=params.num_shards
            )
        )
    _ = (
        parsed.rejects
        | "FormatRejects" >> beam.Map(lambda error: json.dumps(dataclasses.asdict(error)))
        | "WriteRejects" >> beam.io.WriteToText(output.file(_REJECTS_DIR, "rejects"), file_name_suffix=".jsonl")
    )
    counters = run_and_count(pipeline, _METRICS_NAMESPACE)

    read, rejected = counters.get("rows_read", 0), counters.get("rows_rejected", 0)
    written = {name: counters.get(f"rows_{name}", 0) for name in split_names}
    if read != sum(written.values()) + rejected:
        raise RowCountMismatch(
            f"ExampleGen: read {read} rows but wrote {sum(written.values())} and rejected {rejected}"
        )
    rejects = _load_rejects(output.file(_REJECTS_DIR))
    if rejected and rejected > params.max_reject_fraction * read:
        kept = output.final_path.parent / f"{output.final_path.name}.rejects.jsonl"
        kept.write_text("".join(json.dumps(dataclasses.asdict(e)) + "\n" for e in rejects))
        raise BadInputError(_error_message(rejects, read, params.max_reject_fraction, str(kept)))
    shutil.rmtree(output.file(_REJECTS_DIR))
    with open(output.file("rejects.jsonl"), "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(dataclasses.asdict(e)) + "\n" for e in rejects)
    output.properties.update(
        splits={name: {"rows": written[name], "pattern": f"{name}/data-*.tfrecord"} for name in split_names},
        rows={"read": read, "written": sum(written.values()), "rejected": rejected},
        rejects_file="rejects.jsonl",
        sources=[{"file": path, "splits": splits} for path, splits in files],
        columns=[list(pair) for pair in fmt.columns.items()],
    )


def _load_rejects(rejects_dir: str) -> list[RowError]:
    rejects = []
    for path in glob.glob(os.path.join(rejects_dir, "*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            rejects.extend(RowError(**json.loads(line)) for line in handle)
    return sorted(rejects, key=lambda e: (e.file, e.row))


def _error_message(rejects: Sequence[RowError], read: int, allowed: float, kept: str) -> str:
    shown = [str(error) for error in rejects[:_MAX_ERRORS_SHOWN]]
    more = f"\n  ... and {len(rejects) - len(shown)} more" if len(rejects) > len(shown) else ""
    return (
        f"ExampleGen: {len(rejects)} of {read} rows rejected ({len(rejects) / max(read, 1):.2%}, "
        f"allowed {allowed:.2%}); nothing was written. Rejected rows are listed in {kept}:\n  "
        + "\n  ".join(shown)
        + more
    )
