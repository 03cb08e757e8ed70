"""CSV (and Parquet) files in blocks of rows, parsed column-wise: the fast core of ExampleGen.

A file is cut into blocks of whole rows (a quoted field never straddles two blocks). A
block whose lines are plain (no quotes, no empty field) is parsed by pyarrow's CSV reader
in one call; any other block, or one pyarrow refuses, goes row by row through
`rows.read_rows`/`rows.typed_values`, which name the exact row and column of every
problem. Both paths end in the same typed Arrow table, so the split of a row and the
bytes of its tf.Example never depend on the path taken.

Rows are numbered as a text editor numbers lines: 1 is the file's first line.

A Parquet file is read in batches of records (`ParquetBlock`), typed by
`sluice.data.parquet_rows` as the CSV path types the same values; its rows are numbered
from 1, the file's first record.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from typing import IO, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluice.data import parquet_rows
from sluice.data.feature_lists import as_feature_lists
from sluice.data.parquet_rows import ARROW_TYPES as _ARROW_TYPES
from sluice.data.rows import CsvFormat, RowError, read_rows, typed_values

BLOCK_ROWS = 50_000
_SEPARATOR = re.compile(rb"[ \t]*,[ \t]*")
_EDGES = re.compile(rb"^[ \t]+|[ \t]+$", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Block:
    """Consecutive data lines of one file (comment and blank lines already left out),
    joined by newlines, with the file's line number of each."""

    file: str
    index: int
    text: bytes
    line_numbers: np.ndarray
    header: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class ParsedBlock:
    """A block's good rows as a typed table, their line numbers, and its rejected rows."""

    table: pa.Table
    line_numbers: np.ndarray
    rejects: list[RowError]


def arrow_schema(fmt: CsvFormat) -> pa.Schema:
    return pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in fmt.columns.items()])


def read_blocks(handle: IO[bytes], file: str, fmt: CsvFormat, block_rows: int = BLOCK_ROWS) -> Iterator[Block | RowError]:
    """Yields the file's data lines in blocks, and a RowError for each undecodable line.

    With `fmt.header`, the first data line is the header; a header lacking a declared
    column ends the file with one RowError naming it.
    """
    comment = fmt.comment_prefix.encode() if fmt.comment_prefix else None
    header: tuple[str, ...] | None = None
    lines: list[bytes] = []
    numbers: list[int] = []
    open_quotes = False
    index = 0
    for number, raw in enumerate(iter(handle.readline, b""), start=1):
        line = raw.rstrip(b"\r\n")
        if not open_quotes:
            if not line.strip() or (comment and line.startswith(comment)):
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                yield RowError(file, number, None, f"not UTF-8 ({error.reason} at byte {error.start})")
                continue
            if fmt.header and header is None:
                header = next(csv.reader([line.decode("utf-8")], skipinitialspace=True, delimiter=fmt.delimiter))
                header = tuple(name.strip() for name in header)
                missing = [name for name in fmt.columns if name not in header]
                if missing:
                    yield RowError(file, number, missing[0], f"header lacks column {missing[0]!r} (missing: {missing})")
                    return
                continue
        lines.append(line)
        numbers.append(number)
        open_quotes ^= line.count(b'"') % 2 == 1
        if len(lines) >= block_rows and not open_quotes:
            yield Block(file, index, b"\n".join(lines), np.asarray(numbers, dtype=np.int64), header)
            index, lines, numbers = index + 1, [], []
    if lines:
        yield Block(file, index, b"\n".join(lines), np.asarray(numbers, dtype=np.int64), header)


def parse_block(block: Block, fmt: CsvFormat) -> ParsedBlock:
    """The block's rows typed as `fmt` says; fast when the block is plain, exact always."""
    text = block.text
    if b'"' not in text and fmt.delimiter == ",":
        text = _without_padding(text)
        if not _has_empty_field(text):
            table = _parse_plain(text, block.header or tuple(fmt.columns), fmt)
            if table is not None:
                return ParsedBlock(_strip_suffixes(table, fmt), block.line_numbers, [])
    return _parse_row_by_row(block, fmt)


def _without_padding(text: bytes) -> bytes:
    """Fields stripped of surrounding blanks, as the row-by-row path strips them."""
    if b"\t" in text or b",  " in text or b" ," in text or b"\n " in text or b" \n" in text or text[:1] == b" " or text[-1:] == b" ":
        return _EDGES.sub(b"", _SEPARATOR.sub(b",", text))
    return text.replace(b", ", b",")  # the common case ("a, b, c"), at C speed


def _has_empty_field(text: bytes) -> bool:
    return b",," in text or b"\n," in text or b",\n" in text or text[:1] in (b",", b"") or text[-1:] == b","


def _parse_plain(text: bytes, names: Sequence[str], fmt: CsvFormat) -> pa.Table | None:
    import pyarrow.csv as pcsv

    try:
        return pcsv.read_csv(
            io.BytesIO(text),
            read_options=pcsv.ReadOptions(column_names=list(names), use_threads=False),
            convert_options=pcsv.ConvertOptions(
                column_types=arrow_schema(fmt),
                include_columns=list(fmt.columns),
                null_values=list(fmt.missing_values),
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None  # a wrong field count or a bad number: the row-by-row path names it


def _strip_suffixes(table: pa.Table, fmt: CsvFormat) -> pa.Table:
    for name, suffix in fmt.strip_suffixes.items():
        index = table.schema.get_field_index(name)
        stripped = pc.replace_substring_regex(table[name], pattern=re.escape(suffix) + "$", replacement="", max_replacements=1)
        table = table.set_column(index, name, stripped)
    return table


def _parse_row_by_row(block: Block, fmt: CsvFormat) -> ParsedBlock:
    prefix = [fmt.delimiter.join(block.header).encode()] if block.header is not None else []
    handle = io.BytesIO(b"\n".join(prefix + [block.text]) + b"\n")
    columns: dict[str, list] = {name: [] for name in fmt.columns}
    numbers, rejects = [], []
    # read_rows numbers the block's lines from 1; map them back to the file's numbering.
    file_line = dict(enumerate(block.line_numbers.tolist(), start=len(prefix) + 1))
    for item in read_rows(handle, block.file, fmt):
        row = file_line[item.row]
        if isinstance(item, RowError):
            rejects.append(dataclasses.replace(item, row=row))
            continue
        values = typed_values(item, fmt)
        if isinstance(values, RowError):
            rejects.append(dataclasses.replace(values, row=row))
            continue
        for name in fmt.columns:
            value = values.get(name)
            columns[name].append(value.encode("utf-8") if isinstance(value, str) else value)
        numbers.append(row)
    table = pa.table({name: pa.array(values, type=_ARROW_TYPES[fmt.columns[name]]) for name, values in columns.items()})
    return ParsedBlock(table, np.asarray(numbers, dtype=np.int64), rejects)


@dataclasses.dataclass(frozen=True)
class ParquetBlock:
    """Consecutive records of a Parquet file, from row `first_row` (1 = the file's first record)."""

    file: str
    index: int
    first_row: int
    table: pa.Table


def read_parquet_blocks(handle: IO[bytes], file: str, columns: Sequence[str] | None = None, block_rows: int = BLOCK_ROWS) -> Iterator[ParquetBlock]:
    """Yields the file's records in blocks, a batch read at a time (`columns`: only those; None: all)."""
    first_row = 1
    for index, table in enumerate(parquet_rows.read_batches(handle, list(columns) if columns else None, block_rows)):
        yield ParquetBlock(file, index, first_row, table)
        first_row += table.num_rows


def parse_parquet_block(block: ParquetBlock, fmt: CsvFormat) -> ParsedBlock:
    """The block's records typed as `fmt` says, each refused value named by file, row and column."""
    return ParsedBlock(*parquet_rows.typed_table(block.table, fmt, block.file, block.first_row))


def parquet_raw_row_keys(block: ParquetBlock, row_numbers: np.ndarray) -> pa.Array:
    """Each row's record as a CSV line (`parquet_rows.raw_row_keys`): what `raw_row_keys` is to a CSV row."""
    keys = parquet_rows.raw_row_keys(block.table)
    return keys.take(pa.array(row_numbers - block.first_row))


@dataclasses.dataclass(frozen=True)
class RecordBlock:
    """Consecutive records of a TFRecord file (rows = 1-based record positions)."""

    file: str
    index: int
    rows: tuple[int, ...]
    data: tuple[bytes, ...]


def read_record_blocks(path: str, block_rows: int = BLOCK_ROWS) -> Iterator[RecordBlock | RowError]:
    """Yields a TFRecord file's records in blocks (gzip when named .gz), or the error that ends it."""
    import tensorflow as tf

    compression = "GZIP" if path.endswith(".gz") else ""
    rows: list[int] = []
    data: list[bytes] = []
    index = position = 0
    try:
        for position, record in enumerate(tf.data.TFRecordDataset(path, compression_type=compression).as_numpy_iterator(), 1):
            rows.append(position)
            data.append(record)
            if len(rows) >= block_rows:
                yield RecordBlock(path, index, tuple(rows), tuple(data))
                index, rows, data = index + 1, [], []
    except tf.errors.DataLossError as error:
        yield RowError(path, position + 1, None, f"corrupt TFRecord ({error.message})")
    if rows:
        yield RecordBlock(path, index, tuple(rows), tuple(data))


def check_records(block: RecordBlock) -> tuple[list[int], list[RowError]]:
    """Positions in the block of records that are tf.Examples, and an error for each other one.

    Features are not checked here: a type change is TFDV's to report.
    """
    from google.protobuf.message import DecodeError
    from tensorflow.core.example import example_pb2

    good, rejects = [], []
    for position, (row, data) in enumerate(zip(block.rows, block.data)):
        try:
            example_pb2.Example.FromString(data)
            good.append(position)
        except DecodeError:
            rejects.append(RowError(block.file, row, None, "not a serialized tf.Example"))
    return good, rejects


def split_indices(keys: Sequence[bytes] | pa.Array, splits: Mapping[str, int]) -> np.ndarray:
    """Index into `splits` of each key, from a stable hash: equal keys share a split."""
    import pandas as pd

    keys = keys.to_numpy(zero_copy_only=False) if isinstance(keys, (pa.Array, pa.ChunkedArray)) else np.asarray(keys, dtype=object)
    buckets = pd.util.hash_array(keys.astype(object), categorize=False) % 100
    bounds = np.cumsum(list(splits.values()))
    if bounds[-1] != 100:
        raise ValueError(f"split percentages {dict(splits)} do not add up to 100")
    return np.searchsorted(bounds, buckets, side="right")


def stratified_split_indices(keys: Sequence[bytes] | pa.Array, classes: Sequence, splits: Mapping[str, int]) -> np.ndarray:
    """Index into `splits` of each key, each class cut in the split proportions: within a
    class, rows are ordered by a stable hash of their key and dealt out by rank."""
    import pandas as pd

    keys = keys.to_numpy(zero_copy_only=False) if isinstance(keys, (pa.Array, pa.ChunkedArray)) else np.asarray(keys, dtype=object)
    classes = np.asarray(pd.Series(list(classes), dtype=object).fillna("").astype(str))
    hashes = pd.util.hash_array(keys.astype(object), categorize=False)
    bounds = np.cumsum(list(splits.values()))
    chosen = np.zeros(len(keys), dtype=np.int64)
    for value in np.unique(classes):
        members = np.flatnonzero(classes == value)
        ranked = members[np.argsort(hashes[members], kind="stable")]
        # the class's rows spread evenly over 0..99, from an offset its own hashes set
        offset = int(hashes[ranked[0]] % 100) if len(ranked) else 0
        percent = (np.floor(100 * (np.arange(len(ranked)) + 0.5) / len(ranked)).astype(np.int64) + offset) % 100
        chosen[ranked] = np.searchsorted(bounds, percent, side="right")
    return chosen


def raw_row_keys(block: Block, line_numbers: np.ndarray) -> list[bytes]:
    """Each row's line as read from the file (its first line, for a quoted multi-line row):
    a key that no declared, dropped or retyped column changes."""
    lines = dict(zip(block.line_numbers.tolist(), block.text.split(b"\n")))
    return [lines[number] for number in line_numbers.tolist()]


def row_keys(table: pa.Table) -> pa.Array:
    """Each row's typed values joined into one string: the key its split is drawn from."""
    texts = [pc.cast(column, pa.string()).fill_null("") for column in table.columns]
    return pc.binary_join_element_wise(*texts, "\x1f").combine_chunks() if texts else pa.array([], pa.string())


def encode_examples(table: pa.Table) -> list[bytes]:
    """Serialized tf.Example of each row; a missing value leaves its feature without values."""
    from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

    return RecordBatchToExamplesEncoder().encode(as_feature_lists(table))



