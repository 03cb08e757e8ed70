"""Input files of batch scoring as keyed tf.Examples, or rejects naming file, row and reason.

No Beam in here: each function reads one file, so every rule is testable on a few lines.
A row becomes the same tf.Example the REST server makes of the same values
(`sluice.serving.raw_features.encode_instance`): the model's recorded raw features decide
what is required and which type each value must have.

CSV files are read with the pipeline's CSV format (`sluice.data.rows`):
- with a header, columns come in any order; columns the model does not take are ignored
  (and reported by name, the label silently); a missing optional feature column is fine,
  a missing required one rejects the file at its header line;
- without a header, columns are in the pipeline's order, with or without the label
  column: the file's first data row decides which.

TFRecord files (.tfrecord, .tfrecord.gz) hold one tf.Example per record, numbered from 1;
features the model does not take are ignored and reported, like extra CSV columns.
"""

from __future__ import annotations

import csv
import dataclasses
from typing import Iterator, Mapping

from sluice.data.rows import BadInputError, CsvFormat, Row, RowError, is_tfrecord, read_rows, serving_format, typed_values
from sluice.serving.raw_features import InstanceError, RawFeature, encode_instance


@dataclasses.dataclass(frozen=True)
class ScoringInput:
    """What a reader needs to turn a file's rows into the model's tf.Examples.

    Args:
        fmt: the pipeline's CSV format (label included); `header` as the files have it.
        label: the label column, ignored wherever it appears.
        features: the model's raw features (`read_raw_features`).
        key_column: a column (or tf.Example feature) whose value is written beside each
            prediction; it need not be a feature.
    """

    fmt: CsvFormat
    label: str
    features: Mapping[str, RawFeature]
    key_column: str | None = None

    def check_csv(self) -> None:
        """Raises BadInputError when CSV files could not carry the key column."""
        if self.key_column and not self.fmt.header and self.key_column not in self.fmt.columns:
            raise BadInputError(
                f"key column {self.key_column!r} is not a column of the pipeline's CSV format; "
                "in CSV files, a key column that is not a feature needs a header (--header)"
            )

    @property
    def ignored(self) -> frozenset[str]:
        """Names a row may carry that are not model inputs and are not reported."""
        return frozenset(name for name in (self.label, self.key_column) if name)


@dataclasses.dataclass(frozen=True)
class Keyed:
    """One row ready for the model: where it came from, its key value, its tf.Example."""

    file: str
    row: int
    key: str | None
    example: bytes


@dataclasses.dataclass(frozen=True)
class IgnoredColumns:
    """Columns (or tf.Example features) of `file` that the model does not take."""

    file: str
    columns: tuple[str, ...]


Item = Keyed | RowError | IgnoredColumns


def read_scoring_input(path: str, spec: ScoringInput) -> Iterator[Item]:
    """Every row of `path` as a Keyed example or a RowError, plus the file's ignored columns."""
    from apache_beam.io.filesystems import FileSystems

    if is_tfrecord(path):
        yield from _tfrecord_items(path, spec)
        return
    spec.check_csv()
    with FileSystems.open(path) as handle:
        first = _first_data_row(handle, spec.fmt)
    fmt, ignored = _file_format(first, spec)
    if ignored:
        yield IgnoredColumns(path, ignored)
    with FileSystems.open(path) as handle:
        for item in read_rows(handle, path, fmt):
            yield item if isinstance(item, RowError) else _encoded_row(item, fmt, spec)


def _first_data_row(handle, fmt: CsvFormat) -> list[str] | None:
    """The fields of the file's first line that is neither blank nor a comment."""
    for raw in iter(handle.readline, b""):
        fields = next(csv.reader([raw.decode("utf-8", "replace")], skipinitialspace=True), [])
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if fmt.comment_prefix and fields[0].startswith(fmt.comment_prefix):
            continue
        return [field.strip() for field in fields]
    return None


def _file_format(first: list[str] | None, spec: ScoringInput) -> tuple[CsvFormat, tuple[str, ...]]:
    """The CSV format to read one file with, and the header's columns the model does not take."""
    served = serving_format(spec.fmt, spec.label)
    if not spec.fmt.header:
        with_label = first is not None and len(first) == len(spec.fmt.columns)
        return (spec.fmt if with_label else served), ()
    header = first or []
    wanted = [
        name for name in served.columns
        if name in header or (name in spec.features and spec.features[name].required)
    ]
    columns = {name: served.columns[name] for name in wanted}
    if spec.key_column and spec.key_column not in columns:
        columns[spec.key_column] = "string"
    ignored = tuple(name for name in header if name not in columns and name not in spec.ignored)
    suffixes = {name: suffix for name, suffix in served.strip_suffixes.items() if name in columns}
    return dataclasses.replace(served, columns=columns, strip_suffixes=suffixes), ignored


def _encoded_row(row: Row, fmt: CsvFormat, spec: ScoringInput) -> Keyed | RowError:
    values = typed_values(row, fmt)
    if isinstance(values, RowError):
        return values
    key = _key_text(values.get(spec.key_column)) if spec.key_column else None
    instance = {name: value for name, value in values.items() if name in spec.features}
    try:
        return Keyed(row.file, row.row, key, encode_instance(instance, spec.features))
    except InstanceError as error:
        return RowError(row.file, row.row, error.feature, str(error))


def _key_text(value) -> str | None:
    return None if value is None else str(value)


def _tfrecord_items(path: str, spec: ScoringInput) -> Iterator[Item]:
    from apache_beam.io.filesystems import FileSystems
    from google.protobuf.message import DecodeError
    from tensorflow.core.example import example_pb2

    from sluice.beam.tfrecords import CorruptTFRecord, read_tfrecords

    ignored: set[str] = set()
    number = 0
    with FileSystems.open(path) as handle:
        records = read_tfrecords(handle)
        while True:
            try:
                record = next(records, None)
            except CorruptTFRecord as error:
                yield RowError(path, number + 1, None, f"{error}; the rest of the file is not read")
                break
            if record is None:
                break
            number += 1
            try:
                example = example_pb2.Example.FromString(record)
            except DecodeError as error:
                yield RowError(path, number, None, f"not a tf.Example ({error})")
                continue
            values = _example_values(example)
            ignored.update(name for name in values if name not in spec.features and name not in spec.ignored)
            yield _encoded_example(path, number, values, spec)
    if ignored:
        yield IgnoredColumns(path, tuple(sorted(ignored)))


def _example_values(example) -> dict[str, list]:
    values = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values[name] = list(getattr(feature, kind).value) if kind else []
    return values


def _encoded_example(path: str, number: int, values: Mapping[str, list], spec: ScoringInput) -> Keyed | RowError:
    decoded = {}
    for name, listed in values.items():
        if name not in spec.features and name != spec.key_column:
            continue
        if len(listed) > 1:
            return RowError(path, number, name, f"feature {name!r}: {len(listed)} values, the model takes one")
        value = listed[0] if listed else None
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                return RowError(path, number, name, f"feature {name!r}: not UTF-8 text")
        decoded[name] = value
    key = _key_text(decoded.get(spec.key_column)) if spec.key_column else None
    instance = {name: value for name, value in decoded.items() if name in spec.features}
    try:
        return Keyed(path, number, key, encode_instance(instance, spec.features))
    except InstanceError as error:
        return RowError(path, number, error.feature, str(error))
