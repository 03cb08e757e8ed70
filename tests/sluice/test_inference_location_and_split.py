"""`sluice init`'s latitude and longitude crosses and its split choice, from a file's statistics."""

import datetime as dt

import pandas as pd
import pytest

from sluice.inference import InferenceError, choose_columns, choose_label, choose_location_crosses, read_table
from sluice.scaffold import choose_split, init_pipeline
from tests.sluice.generated_table import write_trips


def _table(tmp_path, columns: dict):
    path = tmp_path / "t.csv"
    pd.DataFrame(columns).to_csv(path, index=False)
    return read_table(path)


def test_a_latitude_and_a_longitude_named_alike_and_in_range_are_crossed(tmp_path):
    rows = 2000
    table = _table(tmp_path, {
        "pickup_latitude": [40.7 + (i % 97) / 1000 for i in range(rows)],
        "pickupLongitude": [-74.0 + (i % 89) / 1000 for i in range(rows)],
        "dropoff_lat": [40.7 + (i % 83) / 1000 for i in range(rows)],
        "dropoff_lng": [-74.0 + (i % 79) / 1000 for i in range(rows)],
        "lat": [float(i % 50) for i in range(rows)],  # no longitude beside it
        "long_fare": [200.0 + i % 13 for i in range(rows)],  # "long" but no latitude, out of range
        "y": [i % 2 for i in range(rows)],
    })
    crosses = choose_location_crosses(table, choose_columns(table, "y"))
    assert [(c.latitude, c.longitude) for c in crosses] == [("pickup_latitude", "pickupLongitude"), ("dropoff_lat", "dropoff_lng")]
    assert (crosses[0].name, crosses[0].buckets, crosses[0].hash_buckets) == ("pickup_latitude_x_pickupLongitude", 10, 256)
    assert "each cut in 10 quantile buckets" in crosses[0].reason


def test_coordinates_out_of_range_or_not_numbers_are_no_place(tmp_path):
    table = _table(tmp_path, {
        "lat": [10.0, 95.0, 20.0, 30.0],  # beyond 90
        "lon": [10.0, 20.0, 30.0, 40.0],
        "start_lat": ["north", "south", "east", "west"],
        "start_lon": [1.0, 2.0, 3.0, 4.0],
        "y": [0, 1, 0, 1],
    })
    assert choose_location_crosses(table, choose_columns(table, "y")) == []


def test_init_keeps_a_timestamp_column_for_a_switch_to_a_split_by_time(tmp_path):
    trips = write_trips(tmp_path / "trips.csv", location=True)
    table = read_table(trips)
    label, columns = choose_label(table, "tipped"), choose_columns(table, "tipped")
    split = choose_split(table, label, columns)
    assert (split.method, split.time_column) == ("stratified", "start_time") and "-o data.split=time" in split.reason
    assert choose_split(table, label, columns, "time:start_time").method == "time"
    for asked, message in [
        ("time:when", "no feature column 'when'"), ("time:fare", "holds no timestamps"), ("time", "not one of"),
    ]:
        with pytest.raises(InferenceError, match=message):
            choose_split(table, label, columns, asked)
    with pytest.raises(InferenceError, match="regression label has none"):
        choose_split(table, choose_label(table, "fare"), choose_columns(table, "fare"), "stratified")

    done = init_pipeline("trips", str(trips), "tipped", directory=str(tmp_path / "pipes"), split="time:start_time")
    written = (done.directory / "pipeline.py").read_text()
    assert "'split': 'time', 'split_time_column': 'start_time'" in written
    preprocessing = (done.directory / "preprocessing.py").read_text()
    assert "outputs['pickup_lat_x_pickup_lng'] = pp.location_cross(inputs['pickup_lat'], inputs['pickup_lng'], 4, 64)" in preprocessing


def test_a_timestamp_with_missing_or_unreadable_times_cannot_split_by_time(tmp_path):
    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(40)]
    days[3], days[7] = None, "2024-02-30"  # 38 of 40 read: still a timestamp column
    seconds = [1_700_000_000 + i for i in range(40)]
    table = _table(tmp_path, {"created_at": days, "updated_ts": seconds, "x": [i + 0.5 for i in range(40)], "y": [i % 2 for i in range(40)]})
    label, columns = choose_label(table, "y"), choose_columns(table, "y")
    assert {c.name: c.kind for c in columns}["created_at"] == "timestamp"
    with pytest.raises(InferenceError, match="2 of 40 rows have no time"):
        choose_split(table, label, columns, "time:created_at")
    assert choose_split(table, label, columns).time_column == "updated_ts"  # the first column whose every time reads
    assert choose_split(table, label, columns, "time:updated_ts").method == "time"
