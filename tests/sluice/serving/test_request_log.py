"""Served rows are logged to hourly JSON-lines files per model, a configured sample of them."""

from __future__ import annotations

import base64
import datetime
import json

import httpx

from sluice.serving.raw_features import encode_instance, read_raw_features
from sluice.serving.request_log import RequestLog
from tests.sluice.serving.tiny_model import ROW

UTC = datetime.timezone.utc


class Clock:
    def __init__(self, now: datetime.datetime):
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now


def test_served_rows_go_to_the_file_of_their_hour(tiny_server, tiny_model, tmp_path):
    clock = Clock(datetime.datetime(2024, 5, 1, 10, 59, 59, 500000, tzinfo=UTC))
    request_log = RequestLog(tmp_path / "requests", sample=1.0, clock=clock, flush_seconds=0.05)
    other = {"age": 70, "hours": 8.0, "workclass": None}
    with tiny_server(request_log_object=request_log) as server, httpx.Client(base_url=server.url) as client:
        assert client.post("/v1/models/tiny:predict", json={"instances": [ROW, other]}).status_code == 200
        assert client.post("/v1/models/tiny:predict", json={"instances": [{"age": "x", "hours": 1.0}]}).status_code == 400
        clock.now = datetime.datetime(2024, 5, 1, 11, 0, 0, 100000, tzinfo=UTC)
        serialized = base64.b64encode(encode_instance(ROW, read_raw_features(tiny_model))).decode()
        assert client.post("/v1/models/tiny:classify", json={"examples": [other]}).status_code == 200
        assert client.post("/v1/models/tiny:predict", json={"instances": [{"b64": serialized}]}).status_code == 200
    # leaving the server flushes what is left

    files = sorted(p.name for p in (tmp_path / "requests" / "tiny").iterdir())
    assert files == ["2024-05-01T10.jsonl", "2024-05-01T11.jsonl"]
    ten = [json.loads(line) for line in (tmp_path / "requests" / "tiny" / files[0]).read_text().splitlines()]
    eleven = [json.loads(line) for line in (tmp_path / "requests" / "tiny" / files[1]).read_text().splitlines()]
    assert ten == [
        {"timestamp": "2024-05-01T10:59:59.500000+00:00", "model": "tiny", "version": 1, "features": ROW},
        {"timestamp": "2024-05-01T10:59:59.500000+00:00", "model": "tiny", "version": 1, "features": other},
    ]  # the refused request is not logged
    assert [line["features"] for line in eleven] == [other, ROW]  # a serialized tf.Example is logged as its values
    assert {line["timestamp"] for line in eleven} == {"2024-05-01T11:00:00.100000+00:00"}


def test_a_fraction_of_requests_is_sampled_and_files_are_appended_to(tmp_path):
    clock = Clock(datetime.datetime(2024, 5, 1, 23, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))))
    request_log = RequestLog(tmp_path, sample=0.25, clock=clock, seed=3)
    for index in range(2000):
        request_log.record("m", 3, [{"i": index}])
    request_log.flush()
    appended = RequestLog(tmp_path, sample=1.0, clock=clock)
    appended.record("m", 4, [{"i": "last"}])
    appended.flush()
    lines = (tmp_path / "m" / "2024-05-01T21.jsonl").read_text().splitlines()  # the UTC hour
    assert 400 < len(lines) < 600
    assert json.loads(lines[-1])["features"] == {"i": "last"}
    nothing = RequestLog(tmp_path / "none", sample=0.0, clock=clock)
    nothing.record("m", 1, [{}])
    nothing.flush()
    assert not (tmp_path / "none").exists()
