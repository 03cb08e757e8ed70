"""What a table's columns are, from its values: the statistics behind `sluice init`.

A one-off read of the whole file with pandas (Parquet through pyarrow). Each column gets
a kind, the preprocessing that suits it and the reason, in words a reviewer can check.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd

from sluice.data.parquet_rows import is_parquet
from sluice.errors import SluiceError

MISSING_MARKERS = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "?")
MAX_INTEGER_CODES = 20  # distinct integers up to this many are codes, not quantities
MAX_VOCABULARY = 1000  # distinct strings beyond this many are hashed
MAX_CLASSES = 20
TFIDF_TERMS = 32
SKEW_FOR_LOG = 2.0
KINDS = ("numeric", "log_numeric", "integer_category", "category", "hashed", "timestamp", "text", "skip")


class InferenceError(SluiceError, ValueError):
    """The file or the label cannot make a pipeline; the message says why."""


@dataclasses.dataclass(frozen=True)
class Table:
    """A file read whole, and how it is laid out."""

    path: Path
    frame: pd.DataFrame  # every value as text, missing as None
    delimiter: str = ","
    missing_values: tuple[str, ...] = ()
    parquet: bool = False


@dataclasses.dataclass(frozen=True)
class ColumnChoice:
    """A column's type in the file, its kind, how it is preprocessed, and why."""

    name: str
    csv_type: str  # "int", "float" or "string"
    kind: str
    reason: str
    missing: int = 0
    buckets: int = 0  # for "hashed"


def read_table(path: str | Path) -> Table:
    """Reads a CSV with a header (delimiter and quoting sniffed) or a Parquet file, as text.

    Raises:
        InferenceError: the file is missing, empty or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise InferenceError(f"{path}: no such file")
    try:
        if is_parquet(str(path)):
            frame = pd.read_parquet(path)
            frame = frame.astype(object).where(frame.notna(), None)
            frame = frame.apply(lambda column: column.map(lambda v: None if v is None else str(v)))
            return _non_empty(Table(path, frame, parquet=True), path)
        sample = _head(path)
        if not sample.strip():
            raise InferenceError(f"{path}: the file is empty")
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            delimiter = dialect.delimiter
        except csv.Error:
            delimiter = ","
        frame = pd.read_csv(
            path, sep=delimiter, dtype=str, keep_default_na=False, skipinitialspace=True, compression="infer", quotechar='"'
        )
    except InferenceError:
        raise
    except Exception as error:  # pandas and pyarrow raise many kinds
        raise InferenceError(f"{path}: cannot read it as a CSV with a header or as Parquet ({error})") from None
    frame = frame.apply(lambda column: column.str.strip())
    markers = tuple(m for m in MISSING_MARKERS if frame.isin([m]).any().any())
    frame = frame.where(~frame.isin(markers), None)
    return _non_empty(Table(path, frame, delimiter, markers or ("",)), path)


def _head(path: Path, size: int = 64 << 10) -> str:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return handle.read(size).decode("utf-8", errors="replace").rsplit("\n", 1)[0]


def _non_empty(table: Table, path: Path) -> Table:
    if table.frame.empty or not len(table.frame.columns):
        raise InferenceError(f"{path}: the file has no data rows")
    return table


def _numbers(values: pd.Series) -> pd.Series | None:
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers if numbers.notna().all() else None


def _is_integral(numbers: pd.Series) -> bool:
    return bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)) and numbers.abs().max() < 2**62)


def _integer_text(values: pd.Series) -> bool:
    """Every value written as an integer: "187" yes, "187.0" no (pandas writes an integer
    column with a missing value so, and a CSV reader takes it for a float)."""
    return bool(values.str.fullmatch(r"[+-]?\d+").all())


def _looks_like_time(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ("time", "date", "timestamp")) or lowered.endswith(("_at", "_ts"))


def choose(name: str, column: pd.Series, parquet: bool = False) -> ColumnChoice:
    """The kind of one feature column, from its present values (`parquet`: read from a
    Parquet file, whose whole floats ExampleGen reads as integers)."""
    present = column.dropna()
    missing = int(column.isna().sum())
    rows = len(present)
    note = f"; {missing} missing ({missing / len(column):.0%}): imputed, with a missing indicator" if missing else ""
    if rows == 0:
        return ColumnChoice(name, "string", "skip", "every value is missing", missing)
    distinct = present.nunique()
    if distinct == 1:
        return ColumnChoice(name, "string", "skip", f"one value only ({present.iloc[0]!r}): says nothing", missing)
    numbers = _numbers(present)
    if numbers is not None:
        integral = _is_integral(numbers)
        csv_type = "int" if integral and (parquet or _integer_text(present)) else "float"
        if integral and _looks_like_time(name) and numbers.between(1e8, 4e9).all():
            return ColumnChoice(name, csv_type, "timestamp", "unix seconds: hour, weekday, month, hour on a circle, days" + note, missing)
        if integral and distinct == rows and rows > MAX_INTEGER_CODES and (name.lower() == "id" or name.lower().endswith("id")):
            return ColumnChoice(name, csv_type, "skip", "an identifier (every value distinct)", missing)
        if integral and distinct <= MAX_INTEGER_CODES:
            as_category = f"; {missing} missing: a category of their own" if missing else ""
            return ColumnChoice(name, csv_type, "integer_category", f"{distinct} distinct integers: codes, not quantities" + as_category, missing)
        skew = float(numbers.skew()) if rows > 2 else 0.0
        if numbers.min() >= 0 and skew > SKEW_FOR_LOG:
            return ColumnChoice(name, csv_type, "log_numeric", f"skewed (skewness {skew:.1f}, min {numbers.min():g}): log, then z-score" + note, missing)
        return ColumnChoice(name, csv_type, "numeric", f"numeric (skewness {skew:.1f}): z-score" + note, missing)
    iso = present.str.match(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?")
    if iso.mean() >= 0.95 and pd.to_datetime(present[iso], errors="coerce").notna().mean() >= 0.95:
        return ColumnChoice(name, "string", "timestamp", "ISO 8601 times: hour, weekday, month, hour on a circle, days" + note, missing)
    words = present.str.split().str.len().mean()
    if words >= 4 and distinct > 0.5 * rows:
        return ColumnChoice(name, "string", "text", f"free text ({words:.1f} words a value): tf-idf of the {TFIDF_TERMS} most frequent terms", missing)
    if distinct == rows and rows > MAX_VOCABULARY:
        return ColumnChoice(name, "string", "skip", "an identifier (every value distinct)", missing)
    if distinct > MAX_VOCABULARY:
        buckets = int(2 ** np.ceil(np.log2(2 * distinct)))
        return ColumnChoice(name, "string", "hashed", f"{distinct} distinct strings: hashed into {buckets} buckets" + note, missing, buckets)
    return ColumnChoice(name, "string", "category", f"{distinct} distinct strings: a vocabulary" + (
        f"; {missing} missing: a category of their own" if missing else ""), missing)


@dataclasses.dataclass(frozen=True)
class LabelChoice:
    name: str
    csv_type: str
    task: str
    classes: tuple[str, ...]  # classification: the values seen, most frequent first
    positive: str | int | None
    reason: str
    unlabelled_rows: int = 0  # rows without a label, which ExampleGen rejects


def choose_label(table: Table, label: str, task: str = "auto") -> LabelChoice:
    """The label's type and the task, checked against its values.

    Raises:
        InferenceError: no such column, a constant label, one class, or a label unfit for the task.
    """
    frame = table.frame
    if label not in frame.columns:
        raise InferenceError(f"{table.path}: no label column {label!r} (columns: {', '.join(map(str, frame.columns))})")
    values = frame[label].dropna()
    unlabelled = len(frame) - len(values)
    if values.empty:
        raise InferenceError(f"{table.path}: label {label!r} has no values")
    counts = values.value_counts()
    if len(counts) == 1:
        raise InferenceError(f"{table.path}: label {label!r} is constant ({counts.index[0]!r} in every row): nothing to learn")
    numbers = _numbers(values)
    integral = numbers is not None and _is_integral(numbers)
    csv_type = "int" if integral and (table.parquet or _integer_text(values)) else "float" if numbers is not None else "string"
    if task == "auto":
        if numbers is not None and not integral or (integral and len(counts) > MAX_CLASSES):
            task = "regression"
        else:
            task = "binary" if len(counts) == 2 else "multiclass"
    if task == "regression":
        if numbers is None:
            raise InferenceError(f"{table.path}: label {label!r} is not numeric ({values.iloc[0]!r}); regression needs numbers")
        reason = f"numeric ({len(counts)} distinct values): regression{_unlabelled_note(unlabelled)}"
        return LabelChoice(label, "float", task, (), None, reason, unlabelled)
    if task == "binary" and len(counts) != 2:
        raise InferenceError(f"{table.path}: label {label!r} has {len(counts)} classes; binary needs exactly 2 (try --task multiclass)")
    if task == "multiclass" and len(counts) > 1000:
        raise InferenceError(f"{table.path}: label {label!r} has {len(counts)} classes; too many for classification")
    classes = tuple(str(value) for value in counts.index)
    positive = None
    if task == "binary":
        known = [c for c in classes if c.lower().removesuffix(".0") in ("1", "true", "yes", "y", "positive", ">50k")]
        chosen = known[0] if known else classes[-1]  # else the rarer class
        positive = int(chosen) if csv_type == "int" else chosen
    share = ", ".join(f"{value}: {count / len(values):.0%}" for value, count in counts.head(5).items())
    reason = f"{len(counts)} classes ({share}): {task}{_unlabelled_note(unlabelled)}"
    return LabelChoice(label, "string" if csv_type == "float" else csv_type, task, classes, positive, reason, unlabelled)


def _unlabelled_note(unlabelled: int) -> str:
    return f"; {unlabelled} rows without a label are rejected (listed in ExampleGen's rejects)" if unlabelled else ""


def choose_columns(table: Table, label: str) -> list[ColumnChoice]:
    return [choose(str(name), table.frame[name], table.parquet) for name in table.frame.columns if name != label]


_LATITUDE_WORDS = ("lat", "latitude")
_LONGITUDE_WORDS = ("lon", "lng", "long", "longitude")
GRID_CELLS_PER_ROWS = 20  # about this many training rows per grid cell, at most 20 x 20 cells


@dataclasses.dataclass(frozen=True)
class LocationCross:
    """A latitude and a longitude column, each cut in quantile buckets, the two crossed:
    a grid cell id, beside the two numbers."""

    name: str
    latitude: str
    longitude: str
    buckets: int  # per axis, from training quantiles (a missing value: one bucket more)
    hash_buckets: int  # the crossed ids are hashed into this many
    reason: str


def _words(name: str) -> list[str]:
    """A column name's words, lowercased: "pickup_lat" and "pickupLat" give ["pickup", "lat"]."""
    return [word.lower() for word in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def _axis_and_place(name: str) -> tuple[str, str] | None:
    """("latitude" | "longitude", the rest of the name) when one word of the name says which."""
    words = _words(name)
    for position, word in enumerate(words):
        axis = "latitude" if word in _LATITUDE_WORDS else "longitude" if word in _LONGITUDE_WORDS else None
        if axis:
            return axis, " ".join(words[:position] + ["*"] + words[position + 1 :])
    return None


def choose_location_crosses(table: Table, columns: list[ColumnChoice]) -> list[LocationCross]:
    """Latitude and longitude pairs: numeric columns named as such (lat/latitude,
    lon/lng/long/longitude, the rest of their names equal) whose values lie within
    [-90, 90] and [-180, 180]."""
    by_place: dict[str, dict[str, ColumnChoice]] = {}
    for choice in columns:
        named = _axis_and_place(choice.name)
        if choice.kind not in ("numeric", "log_numeric") or named is None:
            continue
        axis, place = named
        values = pd.to_numeric(table.frame[choice.name].dropna(), errors="coerce")
        limit = 90 if axis == "latitude" else 180
        if len(values) and values.between(-limit, limit).all():
            by_place.setdefault(place, {}).setdefault(axis, choice)
    rows = len(table.frame)
    buckets = int(max(4, min(20, np.sqrt(rows / GRID_CELLS_PER_ROWS))))
    hash_buckets = int(2 ** np.ceil(np.log2(2 * (buckets + 1) ** 2)))
    crosses = []
    for pair in by_place.values():
        if len(pair) == 2:
            latitude, longitude = pair["latitude"].name, pair["longitude"].name
            reason = (
                f"latitude {latitude} and longitude {longitude} (within ±90 and ±180): each cut in {buckets} "
                f"quantile buckets, the {buckets} x {buckets} grid cells crossed and hashed into {hash_buckets} ids"
            )
            crosses.append(LocationCross(f"{latitude}_x_{longitude}", latitude, longitude, buckets, hash_buckets, reason))
    return crosses
