"""Timestamps as unix seconds, read outside the transform graph (e.g. to split rows by time).

The same forms `sluice.preprocessing.seconds_since_epoch` reads in the graph: numbers are
unix seconds (a fraction is cut off), strings are ISO 8601 ("2024-05-17",
"2024-05-17T13:45:00", "2024-05-17 13:45"; what follows the seconds, such as a fraction or
a zone, is ignored: the time is taken as written). Unlike the graph, which must give
every row a number, a value that is missing or is no real date is marked invalid here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ISO_8601 = r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
FORMS = "unix seconds, or ISO 8601: YYYY-MM-DD[THH:MM[:SS]]"
_EPOCH = dt.datetime(1970, 1, 1)


def unix_seconds(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(seconds as int64, whether each value is a timestamp) of numbers or ISO 8601 strings.

    Where a value is missing or no timestamp, its seconds are 0 and it is marked invalid.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        numbers = values.to_numpy(zero_copy_only=False).astype(np.float64)  # nulls become NaN
        valid = np.isfinite(numbers)
        return np.where(valid, np.trunc(np.where(valid, numbers, 0)), 0).astype(np.int64), valid
    text = pc.cast(values, pa.string()) if pa.types.is_binary(values.type) else values
    parts = pc.extract_regex(text, ISO_8601)  # null where there is no match
    matched = parts.is_valid().to_numpy(zero_copy_only=False)

    def number(name: str) -> np.ndarray:
        digits = parts.field(name).fill_null("")
        digits = pc.if_else(pc.equal(digits, ""), "0", digits)  # an absent time part is 0
        return pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)

    year, month, day = number("year"), number("month"), number("day")
    hour, minute, second = number("hour"), number("minute"), number("second")
    in_range = (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
    months = np.where(in_range, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    dates = months.astype("datetime64[D]") + np.where(in_range, day - 1, 0)
    valid = matched & in_range & (dates.astype("datetime64[M]") == months)  # 2024-02-30 is no date
    seconds = dates.astype(np.int64) * 86400 + hour * 3600 + minute * 60 + second
    return np.where(valid, seconds, 0), valid


def iso_time(seconds: int) -> str:
    """Unix seconds in ISO 8601, as a timestamp column would write them."""
    return (_EPOCH + dt.timedelta(seconds=int(seconds))).isoformat()
