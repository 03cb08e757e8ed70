"""CSV rows to tf.Example, one row at a time: the exact path.

Pure functions with no Beam in them, so each rule is testable on a single line of text.
ExampleGen's column-wise fast path (`components/example_gen/blocks.py`) falls back to these for any block it
cannot parse whole, so every rejected row is named with its file, row and column.
Rows are numbered as a text editor numbers lines: 1 is the file's first line.
"""

from __future__ import annotations

import csv
import dataclasses
from typing import IO, Iterator, Mapping, Sequence

from sluice.errors import SluiceError

COLUMN_TYPES = ("int", "float", "string")


class BadInputError(SluiceError):
    """Source rows that cannot become examples; the message names file, row and column."""


@dataclasses.dataclass(frozen=True)
class CsvFormat:
    """How a source's CSV files are laid out.

    Args:
        columns: (name, type) pairs in file order, or a dict in that order; a type is
            "int" (int64), "float" or "string".
        header: the first data line names the columns (any order; extra ones are ignored).
        comment_prefix: lines starting with it are not rows (adult.test's first line).
        missing_values: values that mean "unknown"; the feature is left out of the example.
        strip_suffixes: column -> suffix removed from its values (adult.test's "<=50K.").
        delimiter: the field separator (one character: "," ";" "\t" "|" ...); fields
            may be quoted with '"' either way.
    """

    columns: Mapping[str, str] | Sequence[Sequence[str]]
    header: bool = False
    comment_prefix: str | None = None
    missing_values: Sequence[str] = ()
    strip_suffixes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    delimiter: str = ","

    def __post_init__(self):
        if len(self.delimiter) != 1 or self.delimiter in "\"\r\n":
            raise ValueError(f"delimiter {self.delimiter!r} must be one character other than a quote or a line break")
        pairs = self.columns.items() if isinstance(self.columns, Mapping) else self.columns
        object.__setattr__(self, "columns", {name: kind for name, kind in pairs})
        for name, kind in self.columns.items():
            if kind not in COLUMN_TYPES:
                raise ValueError(f"column {name!r}: type {kind!r} is not one of {COLUMN_TYPES}")
        unknown = set(self.strip_suffixes) - set(self.columns)
        if unknown:
            raise ValueError(f"strip_suffixes names unknown columns {sorted(unknown)}")


@dataclasses.dataclass(frozen=True)
class RowError:
    """A row that cannot become an example, and why."""

    file: str
    row: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}, row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Row:
    """A data row's fields in the declared column order, and where it came from."""

    file: str
    row: int
    fields: tuple[str, ...]


def is_tfrecord(path: str) -> bool:
    return path.endswith((".tfrecord", ".tfrecord.gz", ".tfrecords", ".tfrecords.gz"))


def serving_format(fmt: CsvFormat, label: str) -> CsvFormat:
    """The same layout without the label column: what a serving client sends."""
    columns = {name: kind for name, kind in fmt.columns.items() if name != label}
    suffixes = {name: suffix for name, suffix in fmt.strip_suffixes.items() if name != label}
    return dataclasses.replace(fmt, columns=columns, strip_suffixes=suffixes)


def read_rows(handle: IO[bytes], file: str, fmt: CsvFormat) -> Iterator[Row | RowError]:
    """Yields each data row of a CSV file, or a RowError for a line that cannot be one.

    Blank lines and comment lines are not rows. With `fmt.header`, fields are reordered
    from the header's order into the declared one.
    """
    bad_encoding: dict[int, str] = {}

    def text_lines() -> Iterator[str]:
        for number, raw in enumerate(iter(handle.readline, b""), start=1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                bad_encoding[number] = f"not UTF-8 ({error.reason} at byte {error.start})"
                yield "\n"

    names = list(fmt.columns)
    order: list[int] | None = None if fmt.header else list(range(len(names)))
    width = len(names)
    reader = csv.reader(text_lines(), skipinitialspace=True, delimiter=fmt.delimiter)
    last_line = 0
    for fields in reader:
        first_line, last_line = last_line + 1, reader.line_num
        for number in range(first_line, last_line + 1):
            if number in bad_encoding:
                yield RowError(file, number, None, bad_encoding.pop(number))
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if fmt.comment_prefix and fields[0].startswith(fmt.comment_prefix):
            continue
        if order is None:
            header = [field.strip() for field in fields]
            missing = [name for name in names if name not in header]
            if missing:
                yield RowError(file, first_line, missing[0], f"header lacks column {missing[0]!r} (missing: {missing})")
                return
            order = [header.index(name) for name in names]
            width = len(header)
            continue
        if len(fields) != width:
            column = names[len(fields)] if len(fields) < len(names) else None
            problem = "missing" if len(fields) < width else "extra"
            yield RowError(file, first_line, column, f"expected {width} fields, found {len(fields)} ({problem} column)")
            continue
        yield Row(file, first_line, tuple(fields[index].strip() for index in order))


Value = int | float | str


def typed_values(row: Row, fmt: CsvFormat) -> dict[str, Value] | RowError:
    """Converts a row's fields to their declared types; missing values are left out."""
    values: dict[str, Value] = {}
    for (name, kind), text in zip(fmt.columns.items(), row.fields):
        try:
            value = typed_value(text, name, kind, fmt)
        except ValueError as error:
            return RowError(row.file, row.row, name, str(error))
        if value is not None:
            values[name] = value
    return values


def typed_value(text: str, name: str, kind: str, fmt: CsvFormat) -> Value | None:
    """One field's stripped text as its column's type; None when it is a missing value.

    Raises:
        ValueError: the text is not of the type; the message says so, e.g. "'x' is not an integer".
    """
    if text in fmt.missing_values or (text == "" and kind != "string"):
        return None
    suffix = fmt.strip_suffixes.get(name)
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    try:
        return int(text) if kind == "int" else float(text) if kind == "float" else text
    except ValueError:
        noun = "an integer" if kind == "int" else "a number"
        raise ValueError(f"{text!r} is not {noun}") from None


def encode_example(values: Mapping[str, Value], fmt: CsvFormat) -> bytes:
    """Serializes one row as a tf.Example (int -> int64_list, float -> float_list, string -> bytes_list)."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    features = example.features.feature
    for name, value in values.items():
        kind = fmt.columns[name]
        if kind == "int":
            features[name].int64_list.value.append(value)
        elif kind == "float":
            features[name].float_list.value.append(value)
        else:
            features[name].bytes_list.value.append(value.encode("utf-8"))
    return example.SerializeToString()


def looks_like_header(fields: Sequence[str], column_names: Sequence[str]) -> bool:
    """Whether a file's first line names columns rather than holding values.

    It does when at least half of its fields are column names (the rest may be columns
    the pipeline does not read); a row of values never has that many.
    """
    names = set(column_names)
    stripped = [field.strip() for field in fields]
    return bool(stripped) and 2 * sum(field in names for field in stripped) >= len(stripped)


def first_line_fields(handle: IO[bytes], fmt: CsvFormat) -> list[str] | None:
    """The fields of a CSV file's first line that is neither blank nor a comment, or None."""
    for raw in iter(handle.readline, b""):
        line = raw.decode("utf-8", errors="replace")
        if not line.strip() or (fmt.comment_prefix and line.startswith(fmt.comment_prefix)):
            continue
        return [field.strip() for field in next(csv.reader([line], skipinitialspace=True, delimiter=fmt.delimiter))]
    return None
