"""The monitoring core: an interval's request-log files, JSON rows as serving CSV, the run that pushed the served model."""

import datetime as dt
import json
import os

import pytest

from sluice.artifacts import write_artifact
from sluice.monitoring import NothingServed, file_start, interval_files, rows_to_csv, run_that_pushed, served_version
from sluice.serving.pushed_model import PushedModel

UTC = dt.timezone.utc


def test_a_files_period_is_the_stamp_in_its_name_else_its_mtime(tmp_path):
    assert file_start(tmp_path / "2026-01-02T13.jsonl") == dt.datetime(2026, 1, 2, 13, tzinfo=UTC)
    assert file_start(tmp_path / "requests-20260102-07.jsonl") == dt.datetime(2026, 1, 2, 7, tzinfo=UTC)
    assert file_start(tmp_path / "2026-01-02.csv") == dt.datetime(2026, 1, 2, tzinfo=UTC)
    unstamped = tmp_path / "rows.jsonl"
    unstamped.write_text("")
    os.utime(unstamped, (1767355200, 1767355200))  # 2026-01-02T12:00Z
    assert file_start(unstamped) == dt.datetime(2026, 1, 2, 12, tzinfo=UTC)


def test_interval_files_are_those_of_the_interval_only(tmp_path):
    for name in ("2026-01-02T04.jsonl", "2026-01-02T05.jsonl", "2026-01-02T05.csv", "2026-01-02T06.jsonl", "2026-01-02T05.txt"):
        (tmp_path / name).write_text("")
    start = dt.datetime(2026, 1, 2, 5, tzinfo=UTC)
    assert [p.name for p in interval_files(tmp_path, start, start + dt.timedelta(hours=1))] == ["2026-01-02T05.csv", "2026-01-02T05.jsonl"]
    assert interval_files(tmp_path / "absent", start, start + dt.timedelta(hours=1)) == []


def test_json_rows_become_csv_rows_in_column_order_with_missing_values_marked(tmp_path):
    log = tmp_path / "2026-01-02T05.jsonl"
    log.write_text(json.dumps({"features": {"b": "x, y", "a": 3}}) + "\n\n" + json.dumps({"features": {"a": 4, "b": None}}) + "\n")
    out = tmp_path / "rows.csv"
    assert rows_to_csv([log], ["a", "b"], "?", out) == 2
    assert out.read_text().splitlines() == ['3,"x, y"', "4,?"]
    log.write_text('{"inputs": [1]}\n')
    with pytest.raises(Exception, match="line 1: not a request-log row"):
        rows_to_csv([log], ["a", "b"], "?", out)


def test_the_served_version_leads_to_the_run_that_pushed_it(tmp_path):
    serving = tmp_path / "serving" / "census"
    for version in ("100", "200", ".300.incoming"):
        (serving / version).mkdir(parents=True)
    for run, version in (("run-a", 100), ("run-b", 200)):
        with write_artifact(tmp_path / "artifacts" / "census" / run / "pusher", type="PushedModel", producer="test", inputs={}) as draft:
            PushedModel(accuracy=0.9, blessed=True, pushed=True, version=version, pushed_to=str(serving / str(version))).write(draft)
    assert served_version(serving) == 200
    assert run_that_pushed(tmp_path / "artifacts", "census", 200).name == "run-b"
    with pytest.raises(NothingServed, match="version 300"):
        run_that_pushed(tmp_path / "artifacts", "census", 300)
    with pytest.raises(NothingServed, match="no model version"):
        served_version(tmp_path / "serving" / "other")
