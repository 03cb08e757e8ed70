"""Versions come and go under load: a new one serves only once warmed up, a broken one never
serves, a rollback moves traffic back; no request fails meanwhile."""

from __future__ import annotations

import shutil
import threading
import time

import httpx

from sluice.serving.loaded_version import load_version, warm_up
from tests.sluice.serving.tiny_model import ROW, push


class Traffic:
    """Requests in a loop (bounded in count and time) from a few threads, every answer kept."""

    def __init__(self, url: str, threads: int = 4, max_requests: int = 20_000, max_seconds: float = 60.0):
        self.codes: list[int] = []
        self._stop = threading.Event()
        self._url, self._max, self._deadline = url, max_requests, time.monotonic() + max_seconds
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with httpx.Client(base_url=self._url, timeout=10) as client:
            while not self._stop.is_set() and len(self.codes) < self._max and time.monotonic() < self._deadline:
                try:
                    self.codes.append(client.post("/v1/models/tiny:predict", json={"instances": [ROW, ROW]}).status_code)
                except httpx.HTTPError as error:
                    self.codes.append(repr(error))

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def wait_for(condition, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def served_version(client) -> str:
    return client.get("/v1/models/tiny/metadata").json()["model_spec"]["version"]


def states(client) -> dict[str, str]:
    return {s["version"]: s["state"] for s in client.get("/v1/models/tiny").json()["model_version_status"]}


def test_new_broken_and_rolled_back_versions_under_load(tiny_server, tiny_model, tmp_path):
    release_2 = threading.Event()

    def loader(name, version, path):  # version 2 waits in warm-up until the test has looked
        loaded = load_version(name, version, path)
        warm_up(loaded)
        if version == 2:
            assert release_2.wait(30)
        return loaded

    with tiny_server(loader=loader) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        base = server.base
        with Traffic(server.url) as traffic:
            wait_for(lambda: len(traffic.codes) > 20, what="traffic")

            push(tiny_model, base, 2)
            wait_for(lambda: states(client).get("2") == "LOADING", what="version 2 loading")
            served_while_loading = len(traffic.codes)
            time.sleep(0.3)
            assert served_version(client) == "1"  # not warmed up yet: traffic stays on 1
            assert client.post("/v1/models/tiny/versions/2:predict", json={"instances": [ROW]}).status_code == 404
            assert len(traffic.codes) > served_while_loading
            release_2.set()
            wait_for(lambda: served_version(client) == "2", what="version 2 served")
            assert states(client) == {"2": "AVAILABLE", "1": "END"}
            assert client.post("/v1/models/tiny/versions/2:predict", json={"instances": [ROW]}).status_code == 200

            broken = base / ".staging-3"
            shutil.copytree(tiny_model, broken)
            (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
            broken.rename(base / "3")
            wait_for(lambda: states(client).get("3") == "END", what="version 3 reported")
            status_3 = client.get("/v1/models/tiny/versions/3").json()["model_version_status"][0]["status"]
            assert status_3["error_code"] == "UNKNOWN" and "failed to load" in status_3["error_message"]
            time.sleep(0.3)  # several polls: it is not retried while unchanged, and never served
            assert served_version(client) == "2"
            assert 'sluice_serving_version_load_failures_total{model="tiny"} 1.0' in client.get("/metrics").text

            aside = tmp_path / "rolled_back"  # `sluice rollback` moves the newer versions out
            aside.mkdir()
            (base / "3").rename(aside / "3")
            (base / "2").rename(aside / "2")
            wait_for(lambda: served_version(client) == "1", what="rollback to version 1")
            count = len(traffic.codes)
            wait_for(lambda: len(traffic.codes) > count + 20, what="traffic after the rollback")

        assert len(traffic.codes) > 100
        assert set(traffic.codes) == {200}, [c for c in traffic.codes if c != 200][:5]
