"""Times read outside the graph, in the forms the graph reads them."""

import datetime as dt

import numpy as np
import pyarrow as pa

from sluice.data.timestamps import iso_time, unix_seconds


def _seconds(moment: dt.datetime) -> int:
    return int((moment - dt.datetime(1970, 1, 1)).total_seconds())


def test_iso_strings_are_read_as_written_with_the_time_optional():
    values = pa.array([b"2024-03-01T13:45:10Z", b"2024-03-01", b"2024-03-01 13:45", b"2024-02-29T23:59:59.5+02:00", b"1969-12-31T23:00:00"])
    seconds, valid = unix_seconds(values)
    assert valid.all()
    assert seconds.tolist() == [
        _seconds(dt.datetime(2024, 3, 1, 13, 45, 10)), _seconds(dt.datetime(2024, 3, 1)), _seconds(dt.datetime(2024, 3, 1, 13, 45)),
        _seconds(dt.datetime(2024, 2, 29, 23, 59, 59)), -3600,
    ]
    assert [iso_time(s) for s in seconds[:2]] == ["2024-03-01T13:45:10", "2024-03-01T00:00:00"]


def test_a_missing_value_or_no_real_date_is_marked_invalid():
    _, valid = unix_seconds(pa.array([None, "", "soon", "2024-02-30", "2023-13-01", "2024-01-01T25:00", "01/02/2024", "2024-01-01"]))
    assert valid.tolist() == [False] * 7 + [True]


def test_numbers_are_unix_seconds_with_the_fraction_cut_off():
    seconds, valid = unix_seconds(pa.array([1_700_000_000, None], pa.int64()))
    assert seconds.tolist()[0] == 1_700_000_000 and valid.tolist() == [True, False]
    seconds, valid = unix_seconds(pa.chunked_array([pa.array([12.9, -1.5, float("nan")], pa.float64())]))
    assert seconds.tolist()[:2] == [12, -1] and valid.tolist() == [True, True, False]
    assert unix_seconds(pa.array([], pa.binary()))[0].dtype == np.int64
