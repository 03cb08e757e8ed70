"""The Examples artifact: tf.Example TFRecords per split, as ExampleGen (and WindowFeatures) write it.

StatisticsGen, ExampleValidator and Transform read these properties through `Examples`.
"""

from __future__ import annotations

from typing import Any

import pydantic

from sluice.artifacts import ArtifactProperties


class _Record(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)


class Span(_Record):
    """The rows of one split drawn from one source file.

    Args:
        source: the file.
        key: names the rows: equal keys mean equal rows (a digest of the file, its split
            percentages and the CSV format).
        rows: how many.
        pattern: glob of their TFRecord shards, relative to the artifact.
        columnar_pattern: glob of the same rows as Parquet, when there is such a copy.
    """

    source: str
    key: str
    rows: int
    pattern: str
    columnar_pattern: str | None = None


class ExampleSplit(_Record):
    """One split: its row count, its TFRecords (and Parquet copy), and its spans by source file index."""

    rows: int
    pattern: str
    columnar_pattern: str | None = None
    spans: dict[str, Span] = {}


class RowAccounting(_Record):
    """Rows read = rows written + rows rejected."""

    read: int
    written: int
    rejected: int


class TimeCutoff(_Record):
    """Where a split by time starts a split: its rows are at or after this time (and before the next split's)."""

    split: str
    seconds: int  # unix seconds
    time: str  # the same, in ISO 8601


class SplitMethod(_Record):
    """How rows were put into splits.

    Args:
        method: "hash", "stratified" or "time".
        key: hash and stratified: the columns hashed (None: each row as read).
        stratify_by: stratified: the column whose every value is cut in the split proportions.
        time_column: time: the column of times the rows were ordered by.
        starts: time: where each split after the first starts.
    """

    method: str
    key: list[str] | None = None
    stratify_by: str | None = None
    time_column: str | None = None
    starts: list[TimeCutoff] = []


class Examples(ArtifactProperties):
    """An Examples artifact.

    Args:
        splits: split name -> its examples.
        rows: ExampleGen's row accounting (None from a writer that rejects nothing).
        rejects_file: the rejected rows (JSON lines), relative to the artifact.
        sources: each source file, its split percentages and its span number (None
            for an input without span placeholders).
        spans: the span numbers read (sluice.spans), in order.
        columns: the CSV columns as [name, kind] pairs.
        split_method: how ExampleGen put the rows into splits (None from other writers).
    """

    splits: dict[str, ExampleSplit]
    rows: RowAccounting | None = None
    rejects_file: str | None = None
    sources: list[dict[str, Any]] = []
    spans: list[int] = []
    columns: list[list[str]] = []
    split_method: SplitMethod | None = None
