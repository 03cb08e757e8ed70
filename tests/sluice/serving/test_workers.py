"""`sluice serve --workers 2` as a process: both workers answer, /metrics counts them all,
each logs requests to its own files, a pushed version reaches both, a killed worker is
replaced without losing the counts, and SIGTERM ends everything with exit code 0."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from sluice.serving.service import ServingOptions
from sluice.serving.workers import options_from_json, options_to_json
from tests.helpers import ROOT, free_port
from tests.sluice.serving.tiny_model import ROW, expected_probability, push

REQUESTS = 200
CLIENTS = 8


def test_serving_options_cross_to_a_worker_unchanged(tmp_path):
    options = ServingOptions(models={"a": tmp_path / "a", "b": Path("/srv/b")}, max_batch_size=64, batch_timeout_ms=2.5,
                             request_log=tmp_path / "log", log_sample=0.5, batch_threads=2)
    assert options_from_json(options_to_json(options)) == options
    assert options_from_json(options_to_json(ServingOptions(models={"a": Path("a")}))).request_log is None


class _Log:
    """The server's stderr, read on a thread, searchable while it runs."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, b""):
            self.lines.append(line.decode(errors="replace"))

    def count(self, pattern: str) -> int:
        return sum(1 for line in list(self.lines) if re.search(pattern, line))

    def wait_for(self, pattern: str, times: int, process: subprocess.Popen, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.count(pattern) < times:
            assert process.poll() is None, "".join(self.lines)[-3000:]
            assert time.monotonic() < deadline, f"{pattern!r} not seen {times} times in {timeout} s:\n" + "".join(self.lines)[-3000:]
            time.sleep(0.1)


def _connections_spread(port: int, workers: set[int], tries: int = 5) -> list[http.client.HTTPConnection]:
    """CLIENTS keep-alive connections opened at once, until each worker has accepted one.

    An idle server's connections go to whichever worker wakes first; a burst spreads over
    the workers, as under load, where a busy worker leaves new connections to the others."""
    for _ in range(tries):
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(CLIENTS)]
        threads = [threading.Thread(target=connection.connect) for connection in connections]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        time.sleep(0.2)
        holding = {pid for pid in workers if any(c.laddr.port == port for c in psutil.Process(pid).connections() if c.status == "ESTABLISHED")}
        if holding == workers:
            return connections
        for connection in connections:
            connection.close()
    raise AssertionError(f"{tries} bursts of {CLIENTS} connections all went to workers {holding} of {workers}")


def _predict_from_clients(port: int, workers: set[int], count: int) -> tuple[list[float], int]:
    """`count` single-row predictions, spread over CLIENTS connections that reach every worker;
    also how many answers closed their connection (http.client then opens another)."""
    answers: list[float] = []
    closed, failures = [0], []
    body = json.dumps({"instances": [ROW]}).encode()

    def client(connection: http.client.HTTPConnection) -> None:
        try:
            for _ in range(count // CLIENTS):
                connection.request("POST", "/v1/models/tiny:predict", body, {"Content-Type": "application/json"})
                answer = connection.getresponse()
                payload = answer.read()
                if answer.status != 200:
                    failures.append(f"{answer.status} {payload[:200]!r}")
                    return
                answers.append(json.loads(payload)["predictions"][0])
                closed[0] += answer.getheader("connection", "") == "close"
        except OSError as error:
            failures.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in _connections_spread(port, workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures[:5]
    return answers, closed[0]


def _wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, f"nothing listens on port {port} after {timeout} s"
            time.sleep(0.05)


def _statuses_until(port: int, log: _Log, pattern: str, server: subprocess.Popen, timeout: float = 120,
                    max_requests: int = 50_000) -> list[int]:
    """Statuses of single-row requests, each on a new connection, sent until `pattern` shows in the log."""
    body = json.dumps({"instances": [ROW]}).encode()
    statuses: list[int] = []
    deadline = time.monotonic() + timeout
    while not log.count(pattern):
        assert server.poll() is None and time.monotonic() < deadline and len(statuses) < max_requests, "".join(log.lines)[-3000:]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/v1/models/tiny:predict", body, {"Content-Type": "application/json"})
        statuses.append(connection.getresponse().status)
        connection.close()
    return statuses


def _workers(server: subprocess.Popen) -> set[int]:
    return {child.pid for child in psutil.Process(server.pid).children() if "spawn_main" in " ".join(child.cmdline())}


def _requests_counted(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found = re.search(r'^sluice_serving_requests_total\{code="200",method="predict",model="tiny"\} (\S+)$', text, re.M)
    return float(found[1]) if found else 0.0


def _logged(log_dir: Path, rows: int, timeout: float = 30) -> dict[str, list[dict]]:
    """{file name: its rows}, once the workers have flushed `rows` rows in all (every second)."""
    deadline = time.monotonic() + timeout
    while True:
        logged = {path.name: [json.loads(line) for line in path.read_text().splitlines()] for path in sorted(log_dir.glob("tiny/*.jsonl"))}
        if sum(map(len, logged.values())) >= rows or time.monotonic() > deadline:
            return logged
        time.sleep(0.2)


@pytest.mark.e2e  # runs the `sluice serve` command as a process, as the CLI tests do
def test_two_workers_share_the_port_the_counts_the_versions_and_stop_cleanly(tiny_model, tmp_path):
    base = tmp_path / "models" / "tiny"
    base.mkdir(parents=True)
    push(tiny_model, base, 1)
    log_dir = tmp_path / "requests"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "sluice.cli", "serve", "--model-dir", f"tiny={base}", "--port", str(port), "--workers", "2",
        "--poll-seconds", "0.5", "--request-log", str(log_dir), "--log-sample", "1.0", "--requests-per-connection", "20",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = _Log(process.stderr)
    try:
        log.wait_for(r"serving version 1 \(was None\)", 2, process)
        _wait_listening(port)  # the socket listens once a worker has started serving
        workers = _workers(process)
        assert len(workers) == 2
        cores = len(os.sched_getaffinity(0))
        for pid in workers:  # each worker's TensorFlow pools get its share of the cores
            assert psutil.Process(pid).environ()["TF_NUM_INTRAOP_THREADS"] == str(max(1, cores // 2))

        answers, closed = _predict_from_clients(port, workers, REQUESTS)
        assert answers == pytest.approx([expected_probability(ROW)] * REQUESTS, abs=1e-5)
        assert closed == CLIENTS  # each connection's 20th answer closed it; its last 5 went over a new one
        assert _requests_counted(url) == REQUESTS  # whichever worker answers /metrics counts both
        logged = _logged(log_dir, REQUESTS)
        pids = {int(re.search(r"\.worker-(\d+)\.jsonl$", name)[1]) for name in logged}
        assert pids == workers  # each worker answered some, and logged them to its own file
        assert sum(map(len, logged.values())) == REQUESTS

        push(tiny_model, base, 2)
        log.wait_for(r"serving version 2 \(was 1\)", 2, process)
        _predict_from_clients(port, workers, 40)
        versions = [row["version"] for rows in _logged(log_dir, REQUESTS + 40).values() for row in rows]
        assert versions.count(2) == 40

        victim = min(workers)
        psutil.Process(victim).kill()
        # until its replacement has loaded, new connections keep coming: none may find a worker without a model
        statuses = _statuses_until(port, log, r"serving version 2 \(was None\)", process)
        assert statuses and set(statuses) == {200}, sorted(set(statuses))
        assert _requests_counted(url) == REQUESTS + 40 + len(statuses)  # the dead worker's counts are kept
        replacement = _workers(process)
        assert len(replacement) == 2 and victim not in replacement
        assert len(_predict_from_clients(port, replacement, 16)[0]) == 16
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, "".join(log.lines)[-3000:]
    assert not [pid for pid in workers | replacement if psutil.pid_exists(pid)]


def test_workers_share_the_cores_among_their_tensorflow_thread_pools(monkeypatch):
    from sluice.serving.server import tf_thread_counts

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)))
    assert tf_thread_counts(1, 0, 0) == (0, 0)  # one process: TensorFlow's own choice
    assert tf_thread_counts(2, 0, 0) == (4, 4)
    assert tf_thread_counts(3, 0, 6) == (2, 6)  # a count given is kept
    assert tf_thread_counts(16, 0, 0) == (1, 1)


def test_every_nth_answer_on_a_connection_closes_it():
    import asyncio

    from sluice.serving.workers import ConnectionRecycling

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    recycling = ConnectionRecycling(app, requests=3)

    def answer(client) -> list:
        sent = []

        async def send(message):
            sent.append(message)

        asyncio.run(recycling({"type": "http", "client": client}, None, send))
        return sent[0]["headers"]

    closes = [(b"connection", b"close") in answer(("127.0.0.1", 5000)) for _ in range(7)]
    assert closes == [False, False, True, False, False, True, False]
    assert (b"connection", b"close") not in answer(("127.0.0.1", 5001))  # another connection counts its own


def test_a_worker_that_cannot_start_says_why_and_exits_as_a_startup_failure(tmp_path, monkeypatch):
    from uvicorn.config import STARTUP_FAILURE

    from sluice.serving import workers

    monkeypatch.setattr("sluice.process.quiet_library_noise", lambda: None)
    monkeypatch.setattr("sluice.serving.server.log_to_stderr", lambda: None)
    monkeypatch.setenv(workers.MULTIPROCESS_DIR_ENV, str(tmp_path))
    fields = json.loads(options_to_json(ServingOptions(models={"a": Path("/srv/a")})))
    monkeypatch.setenv(workers.OPTIONS_ENV, json.dumps({**fields, "no_such_option": 1}))  # from another Sluice version, say
    with pytest.raises(SystemExit) as exited:
        workers.worker_app()
    assert exited.value.code == STARTUP_FAILURE  # uvicorn's supervisor stops on it rather than restart the worker
    assert "no_such_option" in (tmp_path / workers.STARTUP_FAILED_FILE).read_text()
