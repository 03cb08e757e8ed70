"""JSON rows of raw features ({column: value}, one object a line) as tf.Examples.

A serving client's log is often JSON lines rather than CSV; `sluice validate --serving`
reads `.jsonl` and `.json` files (JSON lines, or one array of objects) through this.
"""

from __future__ import annotations

import json
from typing import IO, Iterator, Mapping

from sluice.data.rows import BadInputError

JSON_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz")


def is_json_rows(path: str) -> bool:
    return path.endswith(JSON_SUFFIXES)


def json_objects(handle: IO[bytes], file: str) -> Iterator[tuple[int, object]]:
    """(line or item number, decoded object) for each row; a JSON array is numbered by item."""
    text = handle.read().decode("utf-8")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadInputError(f"{file}: not a JSON array of rows ({error})") from None
        yield from enumerate(items, start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                raise BadInputError(f"{file}, row {number}: not JSON ({error.msg})") from None


def write_json_rows_as_examples(handle: IO[bytes], file: str, columns: Mapping[str, str], target: str) -> tuple[int, list[str]]:
    """Writes each JSON row of `handle` to the TFRecord file `target`, typed by `columns` (name -> kind).

    A column a row lacks (or holds null) is a missing value. Keys that are not columns are
    left out and returned, so the caller can report them. Returns (rows written, extra keys).
    Raises BadInputError naming the file, row and column of a value of the wrong type.
    """
    import tensorflow as tf

    from sluice.serving.raw_features import InstanceError, RawFeature, encode_instance

    features = {name: RawFeature(kind, required=False) for name, kind in columns.items()}
    extra: dict[str, None] = {}
    rows = 0
    with tf.io.TFRecordWriter(target) as writer:
        for number, row in json_objects(handle, file):
            if isinstance(row, Mapping):
                extra.update(dict.fromkeys(key for key in row if key not in features))
            try:
                writer.write(encode_instance(row, features, ignore=frozenset(extra)))
            except InstanceError as error:
                where = f"{file}, row {number}" + (f", column {error.feature!r}" if error.feature else "")
                reason = str(error).split(": ", 1)[-1] if error.feature else str(error)
                raise BadInputError(f"{where}: {reason}") from None
            rows += 1
    return rows, list(extra)
