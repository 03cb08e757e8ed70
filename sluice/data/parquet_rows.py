"""Parquet records read as the CSV path reads the same values.

A Parquet file is an input like a CSV with a header: its columns are found by name (in
any order; extra ones are ignored), typed by the declared kinds ("int", "float",
"string"), and every value the CSV path would refuse is refused here too, named by
file, row and column. Rows are numbered from 1, the file's first record.

How a value becomes a feature:

- a null is a missing value; so is a text value that is one of `missing_values` (and an
  empty text in a number column), as in a CSV;
- text values (string or UTF-8 binary columns) are stripped of surrounding blanks, lose
  their `strip_suffixes`, and are parsed as the CSV path parses a field;
- numbers keep their value: an integer or boolean column can be "int" or "float", a
  floating column "float", or "int" when each value is a whole number (as pandas writes
  an integer column with gaps);
- any column can be "string": each value as its text (see `value_texts`).

A record's raw row (the default key of its split) is the line a CSV writer would write
for it: every column of the file, in the file's order, each value as its text (a null as
an empty field), quoted when it holds a comma, a quote or a line break. So a Parquet file
and the CSV with the same values (written by `csv.writer` or pandas' `to_csv`) put every
row in the same split.
"""

from __future__ import annotations

import re
from typing import IO, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluice.data.rows import BadInputError, CsvFormat, RowError, Value, typed_value

PARQUET_SUFFIXES = (".parquet", ".parq")
ARROW_TYPES = {"int": pa.int64(), "float": pa.float32(), "string": pa.binary()}  # of each column kind, in ExampleGen's tables
_NEEDS_QUOTES = r'[,"\r\n]'


def is_parquet(path: str) -> bool:
    return path.endswith(PARQUET_SUFFIXES)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or pa.types.is_decimal(kind)


def check_columns(schema: pa.Schema, fmt: CsvFormat, file: str) -> None:
    """Refuses a file that lacks a declared column or holds one no value of which can be its kind.

    Raises:
        BadInputError: naming the file and the column.
    """
    names = schema.names
    for name, kind in fmt.columns.items():
        if name not in names:
            raise BadInputError(f"{file}: no column {name!r} (its columns: {', '.join(names)})")
        arrow_type = schema.field(name).type
        if pa.types.is_dictionary(arrow_type):
            arrow_type = arrow_type.value_type
        if pa.types.is_nested(arrow_type):
            raise BadInputError(f"{file}, column {name!r}: {arrow_type} values (lists or records) cannot be a feature")
        if kind != "string" and not (_is_number(arrow_type) or _is_text(arrow_type) or pa.types.is_null(arrow_type)):
            raise BadInputError(f'{file}, column {name!r}: {arrow_type} values are not {kind} numbers; declare it "string"')


def read_batches(handle: IO[bytes], columns: list[str] | None = None, batch_rows: int = 50_000) -> Iterator[pa.Table]:
    """The file's records in tables of at most `batch_rows` rows, read a batch at a time.

    `handle` must be seekable (a local file, or a Beam FileSystems handle).
    """
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(handle)
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns, use_threads=False):
        yield pa.Table.from_batches([batch])


def typed_table(table: pa.Table, fmt: CsvFormat, file: str, first_row: int) -> tuple[pa.Table, np.ndarray, list[RowError]]:
    """The records of `table` typed as `fmt` declares, their row numbers, and the rejected ones.

    `first_row` is the row number of the table's first record. A rejected row is named by
    the first of its declared columns whose value is refused (as the CSV path names it).
    """
    columns, errors = {}, {}
    for name, kind in fmt.columns.items():
        column, refused = _typed_column(_plain(table[name]), name, kind, fmt)
        columns[name] = column
        for offset, reason in refused.items():
            errors.setdefault(offset, RowError(file, first_row + offset, name, reason))
    typed = pa.table(columns, schema=pa.schema([(name, ARROW_TYPES[kind]) for name, kind in fmt.columns.items()]))
    numbers = np.arange(first_row, first_row + table.num_rows, dtype=np.int64)
    if not errors:
        return typed, numbers, []
    keep = np.ones(table.num_rows, dtype=bool)
    keep[list(errors)] = False
    return typed.filter(pa.array(keep)), numbers[keep], [errors[offset] for offset in sorted(errors)]


def typed_rows(path: str, fmt: CsvFormat, limit: int) -> list[tuple[int, dict[str, Value]]]:
    """The first `limit` records of a Parquet file as (row number, {column: value}), missing values left out.

    Raises:
        BadInputError: a column is missing or a value is refused (named by file, row and column).
    """
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path) as handle:
        parquet = pq.ParquetFile(handle)
        check_columns(parquet.schema_arrow, fmt, path)
        batch = next(parquet.iter_batches(batch_size=max(limit, 1), columns=list(fmt.columns), use_threads=False), None)
    if batch is None:
        return []
    table, numbers, rejects = typed_table(pa.Table.from_batches([batch]), fmt, path, first_row=1)
    if rejects:
        raise BadInputError(str(rejects[0]))
    for name, kind in fmt.columns.items():
        if kind == "float":  # as the CSV path gives it: 3.66, not float32's 3.6600000858306885
            shortest = pc.cast(value_texts(table[name].combine_chunks()), pa.float64())
            table = table.set_column(table.schema.get_field_index(name), name, shortest)
    rows = []
    for number, record in zip(numbers.tolist(), table.to_pylist()):
        values = {k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in record.items() if v is not None}
        rows.append((number, values))
    return rows


def raw_row_keys(table: pa.Table) -> pa.Array:
    """Each record as the line a CSV writer writes for it (its first line, for a value
    holding a line break), as bytes: the key a declared, dropped or retyped column never changes."""
    if not table.num_columns:
        return pa.array([b""] * table.num_rows, pa.binary())
    fields = [_csv_field(value_texts(_plain(column))) for column in table.columns]
    lines = pc.binary_join_element_wise(*fields, ",")
    if pc.any(pc.match_substring_regex(lines, r"[\r\n]")).as_py():
        lines = pc.replace_substring_regex(lines, pattern=r"(?s)\r*\n.*", replacement="")
    return pc.cast(lines, pa.binary())


def value_texts(values: pa.Array) -> pa.Array:
    """Each value as the text a CSV writer writes for it (null stays null): integers and
    strings as they are, a float as its shortest repr at its own precision (0.1, 1.0,
    1e-05), a boolean as True/False, other types as Python's str() of the value."""
    arrow_type = values.type
    if pa.types.is_integer(arrow_type) or pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pc.cast(values, pa.string())
    if pa.types.is_floating(arrow_type):
        numbers = values.to_numpy(zero_copy_only=False)
        return pa.array(numbers.astype(str), pa.string(), mask=pc.is_null(values).to_numpy(zero_copy_only=False))
    if pa.types.is_boolean(arrow_type):
        return pc.if_else(values, "True", "False")
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return pa.array([None if v is None else v.decode("utf-8", errors="backslashreplace") for v in values.to_pylist()], pa.string())
    return pa.array([None if v is None else str(v) for v in values.to_pylist()], pa.string())


def _plain(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array, dictionary-encoded values (pandas categoricals) decoded."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array


def _csv_field(texts: pa.Array) -> pa.Array:
    texts = texts.fill_null("")
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(texts, '"', '""'), '"', "")
    return pc.if_else(pc.match_substring_regex(texts, _NEEDS_QUOTES), quoted, texts)


def _typed_column(values: pa.Array, name: str, kind: str, fmt: CsvFormat) -> tuple[pa.Array, dict[int, str]]:
    """The column as its declared kind, and the reason each refused value is refused, by offset."""
    arrow_type = values.type
    if pa.types.is_null(arrow_type):
        return pa.nulls(len(values), ARROW_TYPES[kind]), {}
    if _is_text(arrow_type):
        texts, refused = _utf8(values)
        return _from_texts(texts, name, kind, fmt, refused)
    if kind == "string":
        return _from_texts(value_texts(values), name, kind, fmt, {})
    if kind == "float" or pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        return _cast_numbers(values, kind)
    return _whole_numbers(values)


def _utf8(values: pa.Array) -> tuple[pa.Array, dict[int, str]]:
    """Text values as strings; a binary value that is not UTF-8 is refused (as a CSV line is)."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return pc.cast(values, pa.string()), {}
    try:
        return pc.cast(values, pa.string()), {}
    except pa.ArrowInvalid:
        texts, refused = [], {}
        for offset, value in enumerate(values.to_pylist()):
            try:
                texts.append(None if value is None else value.decode("utf-8"))
            except UnicodeDecodeError as error:
                texts.append(None)
                refused[offset] = f"not UTF-8 ({error.reason} at byte {error.start})"
        return pa.array(texts, pa.string()), refused


def _from_texts(texts: pa.Array, name: str, kind: str, fmt: CsvFormat, refused: dict[int, str]) -> tuple[pa.Array, dict[int, str]]:
    """Text typed as a CSV field of column `name` is typed (`rows.typed_value`)."""
    texts = pc.utf8_trim_whitespace(texts)
    if kind == "string":
        missing = pc.is_in(texts, value_set=pa.array(list(fmt.missing_values), pa.string()))
        texts = pc.if_else(missing, pa.scalar(None, pa.string()), texts)
        suffix = fmt.strip_suffixes.get(name)
        if suffix:
            texts = pc.replace_substring_regex(texts, pattern=re.escape(suffix) + "$", replacement="", max_replacements=1)
        return pc.cast(texts, pa.binary()), refused
    typed: list[Value | None] = []
    refused = dict(refused)
    for offset, text in enumerate(texts.to_pylist()):
        try:
            typed.append(None if text is None else typed_value(text, name, kind, fmt))
        except ValueError as error:
            typed.append(None)
            refused[offset] = str(error)
    return pa.array(typed, ARROW_TYPES[kind]), refused


def _cast_numbers(values: pa.Array, kind: str) -> tuple[pa.Array, dict[int, str]]:
    """Integers, booleans or floats as int64 or float32; an unsigned value past int64 is refused."""
    target = ARROW_TYPES[kind]
    try:
        return pc.cast(values, target, safe=kind == "int"), {}
    except pa.ArrowInvalid:  # an unsigned integer beyond int64
        too_big = pc.fill_null(pc.greater(values, pa.scalar(np.iinfo(np.int64).max, values.type)), False)
        texts = value_texts(values)
        offsets = np.flatnonzero(too_big.to_numpy(zero_copy_only=False))
        refused = {int(offset): f"{texts[int(offset)].as_py()!r} is beyond the int64 range" for offset in offsets}
        return pc.cast(pc.if_else(too_big, pa.scalar(None, values.type), values), target), refused


def _whole_numbers(values: pa.Array) -> tuple[pa.Array, dict[int, str]]:
    """Floats (or decimals) as int64, each a whole number within int64; any other value is refused."""
    texts = value_texts(values)
    numbers = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    present = pc.is_valid(values).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(numbers) & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2.0**63)
    bad = present & ~whole
    refused = {int(offset): f"{texts[int(offset)].as_py()!r} is not an integer" for offset in np.flatnonzero(bad)}
    integers = np.where(whole, numbers, 0).astype(np.int64)
    return pa.array(integers, pa.int64(), mask=~present | bad), refused
