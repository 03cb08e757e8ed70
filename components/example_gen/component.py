"""ExampleGen: CSV, Parquet (or TFRecord) files -> TFRecord files of tf.Example, one directory per split.

A Beam job: each source file is cut into blocks of rows (`blocks.py`), streamed (memory
stays bounded by a few blocks; files, not blocks, are spread over workers, so shard big
inputs into several files), and each block is typed column-wise, put row by row into
splits (by a hash of the row, hashed within each label class, or by time after a first
pass that finds the cut-off times: `time_split.py`) and written as its own shard per
split: tf.Example TFRecords (`<split>/data-*.tfrecord`) and the same rows as Parquet (`<split>/columns-*.parquet`), which StatisticsGen reads without
decoding a proto per row. Rows that cannot become examples (wrong field count, a value
that is not a number, bad encoding) go to a rejects file with their file, row and
reason. No row
disappears without being counted: rows read = rows written + rows rejected, checked. When
the rejected share exceeds `max_reject_fraction` (default 0) the run fails naming them,
no artifact is written, and the rejects are kept beside the run as
`<run_dir>/example_gen.rejects.jsonl`.

Every source file is a span: each split records, per file, its rows, its shards and a
key (a digest of the file's bytes, its split percentages and the CSV format), so
Transform can analyze spans apart and reuse its analysis of a span it has seen before.

Parquet sources (.parquet, .parq) are read a batch of records at a time and typed as the
CSV path types the same values (`sluice.data.parquet_rows`): columns by name, rows
numbered from 1 (the first record), a record's raw row (its default split key) the line
a CSV writer writes for it, so a Parquet file and the equivalent CSV split alike. A file
lacking a declared column, or holding one that cannot be its kind, fails the run before
any row is read.

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

import numpy as np
import pyarrow as pa

from components.example_gen.artifact import Examples, ExampleSplit, RowAccounting, Span, SplitMethod, TimeCutoff
from components.example_gen.blocks import (
    Block,
    ParquetBlock,
    ParsedBlock,
    RecordBlock,
    arrow_schema,
    check_records,
    encode_examples,
    parquet_raw_row_keys,
    parse_block,
    parse_parquet_block,
    read_blocks,
    read_parquet_blocks,
    read_record_blocks,
    raw_row_keys,
    row_keys,
    split_indices,
    stratified_split_indices,
)
from components.example_gen.time_split import block_times, cutoff_times, time_split_indices
from sluice.data.parquet_rows import check_columns, is_parquet
from sluice.data.rows import BadInputError, CsvFormat, RowError, is_tfrecord
from sluice.data.timestamps import iso_time
from sluice.artifacts import Artifact, ArtifactDraft
from sluice.config import ConfigError
from sluice.contract import ComponentSpec
from sluice.errors import RowCountMismatch

_MAX_ERRORS_SHOWN = 20
_METRICS_NAMESPACE = "example_gen"
_REJECTS_DIR = "rejects"
_CUTOFFS_DIR = "time_split"


@dataclasses.dataclass(frozen=True)
class Params:
    """ExampleGen's parameters.

    Args:
        sources: each {"pattern": glob of CSV files (.gz read as gzip), of Parquet files
            (.parquet, .parq) or of TFRecord files of tf.Example, "splits": {name: percent}, optionally "span": the span
            number its files are (see sluice.spans), recorded with each file}.
        format: a CsvFormat as a dict: columns, header, comment_prefix, missing_values,
            strip_suffixes (a Parquet file's columns are found by name; its text values
            follow missing_values and strip_suffixes).
        max_reject_fraction: the share of rows that may be rejected before the run fails.
        num_shards: output files per split; 0 lets the runner decide.
        split_key: the columns whose values decide a row's split (None: the row as read,
            so declaring or dropping a column never moves a row to another split).
        stratify_by: a column (the label) whose every value is cut in the split
            proportions, block by block (None: a plain hash split).
        time_column: a column of times (unix seconds or ISO 8601): its earliest rows go to
            the first split, the later ones to the next splits, in the split proportions
            (None: a hash split). Rows without a time are rejected.
        label: the label column: rows without a label (missing, or empty text) are
            rejected, since they can neither train a model nor score one (None: serving
            data, which has no label). CSV and Parquet sources; TFRecords are written as read.
    """

    sources: Sequence[Mapping[str, Any]]
    format: Mapping[str, Any]
    max_reject_fraction: float = 0.0
    num_shards: int = 0
    split_key: Sequence[str] | None = None
    stratify_by: str | None = None
    time_column: str | None = None
    label: str | None = None

    def __post_init__(self):
        named = [*(self.split_key or ()), *[c for c in (self.stratify_by, self.time_column) if c]]
        unknown = [c for c in named if c not in dict(self.csv_format().columns)]
        if unknown:
            raise ConfigError(f"ExampleGen: split columns {unknown} are not declared columns")
        if self.label and self.label not in dict(self.csv_format().columns):
            raise ConfigError(f"ExampleGen: the label {self.label!r} is not a declared column")
        if self.time_column and (self.stratify_by or self.split_key):
            raise ConfigError("ExampleGen: a split by time takes no split_key and no stratify_by: the time alone decides")
        if self.time_column and len({json.dumps(s, sort_keys=True) for s in self.timed_splits()}) > 1:
            raise ConfigError(f"ExampleGen: a split by time needs the same split percentages in every source it cuts, not {self.timed_splits()}")
        for source in self.sources:
            if sum(source["splits"].values()) != 100:
                raise ConfigError(f"ExampleGen source {source['pattern']}: split percentages must add up to 100")
        if not 0 <= self.max_reject_fraction <= 1:
            raise ConfigError(f"ExampleGen: max_reject_fraction must be within [0, 1], not {self.max_reject_fraction}")

    def csv_format(self) -> CsvFormat:
        return CsvFormat(**self.format)

    def timed_splits(self) -> list[dict[str, int]]:
        """The split percentages of each source a split by time cuts (those of more than one split)."""
        return [dict(s["splits"]) for s in self.sources if len(s["splits"]) > 1] if self.time_column else []

    def split_method(self, cutoffs: Sequence[int] = ()) -> SplitMethod:
        """How rows were put into splits, for the artifact's properties."""
        if self.time_column:
            later = list(self.timed_splits()[0])[1:] if self.timed_splits() else []
            starts = [TimeCutoff(split=name, seconds=s, time=iso_time(s)) for name, s in zip(later, cutoffs)]
            return SplitMethod(method="time", time_column=self.time_column, starts=starts)
        method = "stratified" if self.stratify_by else "hash"
        return SplitMethod(method=method, key=list(self.split_key) if self.split_key else None, stratify_by=self.stratify_by)

    def split_names(self) -> list[str]:
        """Every split once, in the order the sources name them."""
        return list(dict.fromkeys(name for source in self.sources for name in source["splits"]))


def _matched_files(pattern: str, span: int | None = None) -> list[str]:
    from apache_beam.io.filesystems import FileSystems

    files = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    if not files:
        raise BadInputError(f"ExampleGen: no file matches {pattern}" + (f" (span {span})" if span is not None else ""))
    return files


def _check_parquet_columns(path: str, fmt: CsvFormat) -> None:
    """Fails the run on a Parquet file that lacks a declared column (its footer only is read)."""
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path) as handle:
        check_columns(pq.read_schema(handle), fmt, path)


def _read_source(source: tuple[int, str, Mapping[str, int]], fmt: CsvFormat, parquet_columns: Sequence[str] | None):
    """(file index, path, splits) -> (file index, splits, Block | ParquetBlock | RecordBlock | RowError)."""
    from apache_beam.io.filesystems import FileSystems

    index, path, splits = source
    if is_tfrecord(path):
        items = read_record_blocks(path)
    elif is_parquet(path):
        items = read_parquet_blocks(FileSystems.open(path), path, parquet_columns)
    else:
        handle = FileSystems.open(path)
        items = read_blocks(handle, path, fmt)
    for item in items:
        yield index, splits, item


class _WriteBlock:
    """Writes one block's rows into its own shard per split; yields its rejected rows.

    Each block writes files named by (source file, block), so a retried block rewrites
    the same files and nothing is written twice.
    """

    def __init__(self, output_dir: str, fmt: CsvFormat, split_names: Sequence[str], split_key=None, stratify_by=None,
                 time_column=None, label=None):
        self.output_dir = output_dir
        self.label = label
        self.fmt = fmt
        self.split_names = list(split_names)
        self.split_key = list(split_key) if split_key else None
        self.stratify_by = stratify_by
        self.time_column = time_column

    def __call__(self, element, cutoffs: Sequence[int] = ()):
        from apache_beam.metrics import Metrics

        file_index, splits, item = element
        if isinstance(item, RowError):
            rejects, written = [item], {}
        elif isinstance(item, RecordBlock):
            rejects, written = self._write_records(file_index, splits, item)
        else:
            rejects, written = self._write_rows(file_index, splits, item, cutoffs)
        Metrics.counter(_METRICS_NAMESPACE, "rows_read").inc(sum(written.values()) + len(rejects))
        Metrics.counter(_METRICS_NAMESPACE, "rows_rejected").inc(len(rejects))
        for split, count in written.items():
            Metrics.counter(_METRICS_NAMESPACE, f"rows_{split}").inc(count)
            Metrics.counter(_METRICS_NAMESPACE, f"span_rows_{split}_{file_index:05d}").inc(count)
        yield from rejects

    def _shard(self, split: str, kind: str, file_index: int, block_index: int) -> str:
        directory = os.path.join(self.output_dir, split)
        os.makedirs(directory, exist_ok=True)
        suffix = "tfrecord" if kind == "data" else "parquet"
        return os.path.join(directory, f"{kind}-{file_index:05d}-{block_index:05d}.{suffix}")

    def _write_rows(self, file_index: int, splits, block, cutoffs: Sequence[int]):
        import pyarrow.parquet as pq

        parsed = _parsed(block, self.fmt)
        if self.label:
            parsed = _labelled_rows(parsed, self.label, block.file)
        if self.time_column and len(splits) > 1:
            seconds, timed, untimed = block_times(parsed, self.time_column, block.file)
            parsed = ParsedBlock(parsed.table.filter(pa.array(timed)), parsed.line_numbers[timed], parsed.rejects + untimed)
            chosen = time_split_indices(seconds[timed], cutoffs)
        elif self.time_column:
            chosen = np.zeros(parsed.table.num_rows, dtype=np.int64)  # one split: every row's, timed or not
        else:
            if self.split_key:
                keys = row_keys(parsed.table.select(self.split_key))
            else:
                keys = (parquet_raw_row_keys if isinstance(block, ParquetBlock) else raw_row_keys)(block, parsed.line_numbers)
            if self.stratify_by:
                chosen = stratified_split_indices(keys, parsed.table[self.stratify_by].to_pylist(), splits)
            else:
                chosen = split_indices(keys, splits)
        written = {}
        for position, split in enumerate(splits):
            rows = parsed.table.filter(pa.array(chosen == position))
            if rows.num_rows:
                _write_tfrecord(self._shard(split, "data", file_index, block.index), encode_examples(rows))
                pq.write_table(rows, self._shard(split, "columns", file_index, block.index))
                written[split] = rows.num_rows
        return parsed.rejects, written

    def _write_records(self, file_index: int, splits, block):
        good, rejects = check_records(block)
        chosen = split_indices([block.data[i] for i in good], splits)
        written = {}
        for position, split in enumerate(splits):
            records = [block.data[i] for i, pick in zip(good, chosen) if pick == position]
            if records:
                _write_tfrecord(self._shard(split, "data", file_index, block.index), records)
                written[split] = len(records)
        return rejects, written


def _labelled_rows(parsed: ParsedBlock, label: str, file: str) -> ParsedBlock:
    """The rows that have a label, with a RowError for each that has none."""
    import pyarrow.compute as pc

    values = parsed.table[label]
    present = pc.is_valid(values)
    if pa.types.is_string(values.type) or pa.types.is_binary(values.type):
        present = pc.and_(present, pc.not_equal(pc.binary_length(values), 0))
    present = np.asarray(present.fill_null(False).to_numpy(), dtype=bool)
    if present.all():
        return parsed
    reason = "no label: a row without one can neither train a model nor score one"
    rejects = [RowError(file, int(parsed.line_numbers[i]), label, reason) for i in np.flatnonzero(~present).tolist()]
    return ParsedBlock(parsed.table.filter(pa.array(present)), parsed.line_numbers[present], parsed.rejects + rejects)


def _parsed(block: Block | ParquetBlock, fmt: CsvFormat) -> ParsedBlock:
    return parse_parquet_block(block, fmt) if isinstance(block, ParquetBlock) else parse_block(block, fmt)


def _write_block(element, writer: _WriteBlock, cutoffs: Sequence[int] = ()):
    # A function, not the writer itself: Beam passes side inputs to functions only.
    return writer(element, cutoffs)


def _split_times(element, fmt: CsvFormat, column: str):
    """(file index, splits, item) -> the unix seconds of the block's rows that a split by time cuts."""
    _, splits, item = element
    if not isinstance(item, (Block, ParquetBlock)) or len(splits) < 2:
        return
    seconds, timed, _ = block_times(_parsed(item, fmt), column, item.file)
    yield seconds[timed]


def _cutoffs_of(parts: Sequence[np.ndarray], splits: Mapping[str, int]) -> list[int]:
    return cutoff_times(np.concatenate([np.zeros(0, np.int64), *parts]), splits) if splits else []


def _write_tfrecord(path: str, records: Sequence[bytes]) -> None:
    """Writes `records` as one TFRecord file, local or remote, without importing TensorFlow
    (2.5 s of a process that only reads and splits rows)."""
    from apache_beam.io.filesystems import FileSystems

    from sluice.beam.tfrecords import tfrecord_frames

    with FileSystems.create(path) as handle:
        handle.write(tfrecord_frames(records))


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import apache_beam as beam
    import pyarrow.parquet as pq

    from sluice.beam.jobs import new_pipeline, run_and_count

    fmt = params.csv_format()
    split_names = params.split_names()
    sourced = [(path, dict(s["splits"]), s.get("span")) for s in params.sources for path in _matched_files(s["pattern"], s.get("span"))]
    files = [(path, splits) for path, splits, _ in sourced]
    columnar = not any(is_tfrecord(path) for path, _ in files)
    for path, _ in files:
        if is_parquet(path):
            _check_parquet_columns(path, fmt)
    # The raw row (the default split key) is every column of the file; a split key needs only the declared ones.
    parquet_columns = list(fmt.columns) if params.split_key else None
    untimed = [path for path, splits in files if params.time_column and len(splits) > 1 and is_tfrecord(path)]
    if untimed:
        raise BadInputError(f"ExampleGen: a split by time reads CSV or Parquet files, and {untimed[0]} is TFRecord; split it by hash")

    pipeline = new_pipeline(beam_args, worker_imports=["tfx_bsl.coders.example_coder"])
    blocks = (
        pipeline
        | "ListSourceFiles" >> beam.Create([(index, path, splits) for index, (path, splits) in enumerate(files)])
        | "ReadBlocks" >> beam.FlatMap(_read_source, fmt, parquet_columns)
    )
    writer = _WriteBlock(str(output.path), fmt, split_names, params.split_key, params.stratify_by, params.time_column, params.label)
    side_inputs = {}
    if params.time_column:
        cutoffs = (  # the first pass: every row's time, then the cut-offs from all of them
            blocks
            | "ReadSplitTimes" >> beam.FlatMap(_split_times, fmt, params.time_column)
            | "GatherSplitTimes" >> beam.combiners.ToList()
            | "CutOffTimes" >> beam.Map(_cutoffs_of, (params.timed_splits() or [{}])[0])
        )
        _ = (
            cutoffs
            | "FormatCutOffs" >> beam.Map(json.dumps)
            | "WriteCutOffs" >> beam.io.WriteToText(output.file(_CUTOFFS_DIR, "cutoffs"), file_name_suffix=".json", shard_name_template="")
        )
        side_inputs["cutoffs"] = beam.pvalue.AsSingleton(cutoffs)
    _ = (
        blocks
        | "ParseSplitWrite" >> beam.FlatMap(_write_block, writer, **side_inputs)
        | "FormatRejects" >> beam.Map(lambda error: json.dumps(dataclasses.asdict(error)))
        | "WriteRejects" >> beam.io.WriteToText(output.file(_REJECTS_DIR, "rejects"), file_name_suffix=".jsonl")
    )
    counters = run_and_count(pipeline, _METRICS_NAMESPACE)
    cutoffs_made = _load_cutoffs(output.file(_CUTOFFS_DIR)) if params.time_column else []
    split_method = params.split_method(cutoffs_made)

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
    for name in split_names:  # an empty split still has a (empty) file to read
        if not written[name]:
            _write_tfrecord(output.file(name, "data-empty.tfrecord"), [])
            if columnar:
                pq.write_table(arrow_schema(fmt).empty_table(), output.file(name, "columns-empty.parquet"))
    Examples(
        splits={
            name: ExampleSplit(
                rows=written[name],
                pattern=f"{name}/data-*.tfrecord",
                columnar_pattern=f"{name}/columns-*.parquet" if columnar else None,
                spans=_spans(name, files, counters, columnar, params.format, split_method),
            )
            for name in split_names
        },
        rows=RowAccounting(read=read, written=sum(written.values()), rejected=rejected),
        rejects_file="rejects.jsonl",
        sources=[{"file": path, "splits": splits, "span": span} for path, splits, span in sourced],
        spans=sorted({span for _, _, span in sourced if span is not None}),
        columns=[list(pair) for pair in fmt.columns.items()],
        split_method=split_method,
    ).write(output)


def _spans(split: str, files, counters: Mapping[str, int], columnar: bool, fmt: Mapping[str, Any], method: SplitMethod) -> dict[str, Span]:
    """The rows of `split` from each source file (a span), the shards that hold them, and the span's key."""
    spans = {}
    for index, (path, splits) in enumerate(files):
        rows = counters.get(f"span_rows_{split}_{index:05d}", 0)
        if rows:
            spans[f"{index:05d}"] = Span(
                source=path,
                key=_span_key(path, splits, fmt, split, method),
                rows=rows,
                pattern=f"{split}/data-{index:05d}-*.tfrecord",
                columnar_pattern=f"{split}/columns-{index:05d}-*.parquet" if columnar else None,
            )
    return spans


def _span_key(path: str, splits: Mapping[str, int], fmt: Mapping[str, Any], split: str, method: SplitMethod) -> str:
    """Names the rows of `split` drawn from `path`: equal keys mean equal rows."""
    import hashlib

    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    # A split by time also depends on the other files read with this one (the cut-offs are theirs too).
    digest = hashlib.sha256(json.dumps([split, splits, fmt, method.model_dump()], sort_keys=True).encode())
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"span-{digest.hexdigest()[:24]}"


def _load_cutoffs(cutoffs_dir: str) -> list[int]:
    with open(os.path.join(cutoffs_dir, "cutoffs.json"), encoding="utf-8") as handle:
        cutoffs = json.loads(handle.read())
    shutil.rmtree(cutoffs_dir)
    return cutoffs


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


SPEC = ComponentSpec(run=run, params=Params, output=Examples)
