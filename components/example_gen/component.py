"""ExampleGen: CSV files -> TFRecord files of tf.Example, one directory per split.

A Beam job: each source file is read with its line numbers, every row is typed and
hashed into a split, and bad rows go to a side output. If any row is bad the run fails
with the file, row and column of each, and no artifact is written.
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
    Row,
    RowError,
    assign_split,
    encode_example,
    read_rows,
    typed_values,
)
from sluice.artifacts import Artifact, ArtifactDraft
from sluice.config import ConfigError

_MAX_ERRORS_SHOWN = 20
_METRICS_NAMESPACE = "example_gen"
_ERRORS_DIR = "_errors"


@dataclasses.dataclass(frozen=True)
class Params:
    """ExampleGen's parameters.

    Args:
        sources: each {"pattern": glob of CSV files (.gz read as gzip), "splits": {name: percent}}.
        format: a CsvFormat as a dict: columns, header, comment_prefix, missing_values, strip_suffixes.
        num_shards: output files per split; 0 lets the runner decide.
    """

    sources: Sequence[Mapping[str, Any]]
    format: Mapping[str, Any]
    num_shards: int = 0

    def __post_init__(self):
        for source in self.sources:
            if sum(source["splits"].values()) != 100:
                raise ConfigError(f"ExampleGen source {source['pattern']}: split percentages must add up to 100")

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
    with FileSystems.open(path) as handle:
        for item in read_rows(handle, path, fmt):
            yield item, splits


class _ExampleFromRow:
    """Maps (Row | RowError, splits) to (split index, example bytes), or a RowError to the
    "errors" output; counts both."""

    def __init__(self, fmt: CsvFormat, split_names: Sequence[str]):
        self.fmt = fmt
        self.split_names = list(split_names)

    def __call__(self, item):
        import apache_beam as beam
        from apache_beam.metrics import Metrics

        parsed, splits = item
        if isinstance(parsed, Row):
            values = typed_values(parsed, self.fmt)
            if not isinstance(values, RowError):
                split = assign_split(parsed, splits)
                Metrics.counter(_METRICS_NAMESPACE, f"rows_{split}").inc()
                yield self.split_names.index(split), encode_example(values, self.fmt)
                return
            parsed = values
        Metrics.counter(_METRICS_NAMESPACE, "bad_rows").inc()
        yield beam.pvalue.TaggedOutput("errors", parsed)


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
        | "ParseAndSplit" >> beam.FlatMap(_ExampleFromRow(fmt, split_names)).with_outputs("errors", main="examples")
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
        parsed.errors
        | "FormatErrors" >> beam.Map(lambda error: json.dumps(dataclasses.asdict(error)))
        | "WriteErrors" >> beam.io.WriteToText(output.file(_ERRORS_DIR, "errors"), file_name_suffix=".jsonl")
    )
    counters = run_and_count(pipeline, _METRICS_NAMESPACE)
    if counters.get("bad_rows", 0):
        raise BadInputError(_error_message(output.file(_ERRORS_DIR), counters["bad_rows"]))
    shutil.rmtree(output.file(_ERRORS_DIR))
    output.properties.update(
        splits={name: {"rows": counters.get(f"rows_{name}", 0), "pattern": f"{name}/data-*.tfrecord"} for name in split_names},
        sources=[{"file": path, "splits": splits} for path, splits in files],
        columns=[list(pair) for pair in fmt.columns.items()],
    )


def _error_message(errors_dir: str, count: int) -> str:
    errors = []
    for path in glob.glob(os.path.join(errors_dir, "*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            errors.extend(RowError(**json.loads(line)) for line in handle)
    errors.sort(key=lambda e: (e.file, e.row))
    shown = [str(error) for error in errors[:_MAX_ERRORS_SHOWN]]
    more = f"\n  ... and {count - len(shown)} more" if count > len(shown) else ""
    return f"ExampleGen: {count} bad row(s); nothing was written:\n  " + "\n  ".join(shown) + more
