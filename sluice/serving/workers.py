"""`sluice serve --workers N`: N server processes answering on one listening socket.

One server process parses and encodes requests on one event loop, under one interpreter
lock: with large requests, that loop is what limits it, while the model's calls leave
cores idle. Each worker here is a whole server in a process of its own (its own
`ServingCore`: version polling, batching, warm-up, request log files), so N loops parse at
once. uvicorn's supervisor binds the socket, starts the workers (spawned: none inherits
the parent's state), restarts one that dies, and on SIGTERM or Ctrl-C lets each finish
the requests it holds.

Every worker waits on the one socket, and uvloop's libuv accepts every connection pending
when it wakes: the first worker awake took most of a burst of new keep-alive connections
and kept them, and two workers served hardly more than one process. With libuv's
UV_TCP_SINGLE_ACCEPT, set here unless the environment sets it, a worker yields after each
accept, and the connections spread over the workers.

A burst still splits unevenly (5 and 3 connections, or 6 and 2), a worker started late
(or restarted) finds the connections taken, and keep-alive connections stay where they
landed: the worker holding more is the bottleneck while another idles. So each worker
answers a connection's every `requests_per_connection`-th request with `Connection:
close` (nginx's keepalive_requests), and the client's next connection goes to whichever
worker is free to accept it, the one with less to do.

What differs from one process:
- each worker loads every model (N times the memory) and batches only its own requests;
- a worker accepts connections once its models' first versions have loaded (or failed
  to), so until the first one has, connections are refused;
- a new version or a rollback is picked up by each worker on its own poll, so for the
  seconds a swap takes, two requests may be answered by different versions;
- /metrics, from any worker, counts the requests of all of them (`metrics.py`);
- the request log's files carry the worker's pid in their names (`request_log.py`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from pathlib import Path

from sluice.serving.metrics import MULTIPROCESS_DIR_ENV
from sluice.serving.service import ServingOptions

OPTIONS_ENV = "SLUICE_SERVE_OPTIONS"
SINGLE_ACCEPT_ENV = "UV_TCP_SINGLE_ACCEPT"
REQUESTS_PER_CONNECTION_ENV = "SLUICE_SERVE_REQUESTS_PER_CONNECTION"
STARTUP_FAILED_FILE = "startup-failed"  # in the metrics directory, where no metric file has this name


def options_to_json(options: ServingOptions) -> str:
    fields = dataclasses.asdict(options)
    fields["models"] = {name: str(path) for name, path in options.models.items()}
    fields["request_log"] = str(options.request_log) if options.request_log is not None else None
    return json.dumps(fields)


def options_from_json(text: str) -> ServingOptions:
    fields = json.loads(text)
    fields["models"] = {name: Path(path) for name, path in fields["models"].items()}
    if fields["request_log"] is not None:
        fields["request_log"] = Path(fields["request_log"])
    return ServingOptions(**fields)


def worker_app():
    """The app of one worker (uvicorn's app factory): options from the environment the parent set.

    A worker that cannot build its app says why in `STARTUP_FAILED_FILE` and exits with
    uvicorn's startup-failure code, on which the supervisor stops instead of restarting it."""
    import logging

    from uvicorn.config import STARTUP_FAILURE

    from sluice.process import quiet_library_noise
    from sluice.serving.app import create_app
    from sluice.serving.request_log import RequestLog
    from sluice.serving.server import log_to_stderr
    from sluice.serving.service import ServingCore

    quiet_library_noise()
    log_to_stderr()
    metrics_dir = os.environ[MULTIPROCESS_DIR_ENV]
    try:
        _forget_dead_workers(metrics_dir)
        options = options_from_json(os.environ[OPTIONS_ENV])
        request_log = None
        if options.request_log is not None:
            request_log = RequestLog(options.request_log, options.log_sample, file_tag=f".worker-{os.getpid()}")
        app = create_app(ServingCore(options, request_log=request_log), load_before_serving=True)
    except Exception as error:
        logging.getLogger(__name__).exception("worker %d could not start", os.getpid())
        Path(metrics_dir, STARTUP_FAILED_FILE).write_text(f"{type(error).__name__}: {error}")
        raise SystemExit(STARTUP_FAILURE) from None
    requests = int(os.environ.get(REQUESTS_PER_CONNECTION_ENV, "0"))
    return ConnectionRecycling(app, requests) if requests > 0 else app


class ConnectionRecycling:
    """ASGI middleware: a connection's every `requests`-th answer carries `Connection: close`
    (uvicorn then closes the connection once the answer is sent)."""

    _MAX_TRACKED = 1 << 16  # past this many, connections (closed by their clients first, most of them) are forgotten

    def __init__(self, app, requests: int):
        self.app, self.requests = app, requests
        self._answered: dict[tuple, int] = {}

    async def __call__(self, scope, receive, send):
        client = scope.get("client") if scope["type"] == "http" else None
        if client is None:
            return await self.app(scope, receive, send)
        key = tuple(client)  # (host, port): one open connection
        count = self._answered.pop(key, 0) + 1
        if count < self.requests:
            if len(self._answered) >= self._MAX_TRACKED:
                self._answered.clear()
            self._answered[key] = count
            return await self.app(scope, receive, send)

        async def send_closing(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        return await self.app(scope, receive, send_closing)


def serve_workers(options: ServingOptions, host: str, port: int, workers: int, requests_per_connection: int = 100) -> None:
    """Serves `options` from `workers` processes until interrupted; each closes a keep-alive
    connection after `requests_per_connection` requests (0: never)."""
    import uvicorn

    from sluice.errors import SluiceError
    from sluice.serving.server import uvicorn_settings

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="sluice-serve-metrics-") as metrics_dir:
        os.environ[MULTIPROCESS_DIR_ENV] = metrics_dir  # read by prometheus_client when a worker imports it
        os.environ[OPTIONS_ENV] = options_to_json(options)
        os.environ.setdefault(SINGLE_ACCEPT_ENV, "1")
        os.environ[REQUESTS_PER_CONNECTION_ENV] = str(requests_per_connection)
        # INFO, unlike one process: the supervisor's lines say when a worker died and was replaced
        settings = {**uvicorn_settings(host, port), "log_level": "info"}
        try:
            uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, **settings)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        failed = Path(metrics_dir, STARTUP_FAILED_FILE)
        if failed.exists():
            raise SluiceError(f"a server worker could not start: {failed.read_text()}")


def _forget_dead_workers(metrics_dir: str) -> None:
    """Drops the gauges of workers no longer running (a restarted worker's predecessor):
    prometheus_client's "live" gauges count a process until it is marked dead."""
    from prometheus_client import multiprocess

    for name in os.listdir(metrics_dir):
        found = re.fullmatch(r"gauge_live\w+?_(\d+)\.db", name)
        if found and not _running(int(found[1])):
            multiprocess.mark_process_dead(int(found[1]), metrics_dir)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
