"""Running the REST server: which models, on which address, in this thread or a background one.

`sluice serve` calls `serve`; tests and benchmarks use `serve_in_thread`, which answers on
a free loopback port until its block ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

from sluice.errors import SluiceError
from sluice.serving.service import ServingCore, ServingOptions


def parse_model_dirs(specs: list[str] | tuple[str, ...]) -> dict[str, Path]:
    """`NAME=PATH` pairs (`--model-dir`) -> {name: base path}."""
    models: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name = name.strip()
        if not sep or not name or not path:
            raise SluiceError(f"--model-dir {spec!r}: expected NAME=PATH")
        _check_name(name)
        if name in models:
            raise SluiceError(f"--model-dir: model {name!r} given twice")
        models[name] = Path(path)
    return models


def read_models_config(path: str | Path) -> dict[str, Path]:
    """The models of a TF Serving models config file (text format): each `config { name: '...'
    base_path: '...' }` of its `model_config_list`. Other fields are ignored."""
    text = Path(path).read_text()
    fields = re.findall(r"\b(name|base_path)\s*:\s*(?:\"([^\"]*)\"|'([^']*)')", text)
    models: dict[str, Path] = {}
    name = None
    for key, double, single in fields:
        value = double or single
        if key == "name":
            name = value
        elif name is None:
            raise SluiceError(f"{path}: base_path {value!r} without a name before it")
        else:
            _check_name(name)
            models[name] = Path(value)
            name = None
    if not models:
        raise SluiceError(f"{path}: no `config {{ name: ... base_path: ... }}` found")
    return models


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise SluiceError(f"model name {name!r}: use letters, digits, '_', '-' and '.' only (it goes in URLs)")


def resolve_models(serving_root: str | None, pipeline: str | None, model_dirs, models_config: str | None) -> dict[str, Path]:
    """The models `sluice serve` serves: PIPELINE's pushes (`<serving_root>/<PIPELINE>`), each
    `--model-dir NAME=PATH`, and the models of `--models-config`; at least one."""
    models: dict[str, Path] = {}
    sources = []
    if pipeline is not None:
        sources.append({pipeline: Path(serving_root) / pipeline})
    if models_config is not None:
        sources.append(read_models_config(models_config))
    sources.append(parse_model_dirs(model_dirs))
    for source in sources:
        for name, path in source.items():
            if name in models:
                raise SluiceError(f"model {name!r} is given twice ({models[name]} and {path})")
            models[name] = path
    if not models:
        raise SluiceError("nothing to serve: name a pipeline, or give --model-dir NAME=PATH or --models-config FILE")
    return models


def uvicorn_settings(host: str, port: int) -> dict:
    """uvicorn's settings for every Sluice server (one process or several)."""
    # proxy_headers off: a request's client is its connection's peer (worker connection recycling counts by it)
    return dict(
        host=host, port=port, loop="uvloop", http="httptools", log_level="warning", access_log=False,
        lifespan="on", timeout_graceful_shutdown=5, proxy_headers=False,
    )


def _uvicorn_config(app, host: str, port: int):
    import uvicorn

    return uvicorn.Config(app, **uvicorn_settings(host, port))


TF_THREAD_ENV = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def tf_thread_counts(workers: int, intra_op_threads: int, inter_op_threads: int) -> tuple[int, int]:
    """Each server process's TensorFlow intra- and inter-op pool sizes (0: TensorFlow's own).

    With several workers, a count not given is the worker's share of the cores (at least
    1): TensorFlow's defaults size both pools to every core in every process, and the
    workers' threads then contend for the same cores; on the census model, one thread each
    cost less CPU per request."""
    if workers <= 1:
        return intra_op_threads, inter_op_threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = max(1, cores // workers)
    return intra_op_threads or share, inter_op_threads or share


def log_to_stderr() -> None:
    """The server's own lines (versions loaded, served, retired) at INFO on stderr."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(options: ServingOptions, host: str = "127.0.0.1", port: int = 8501, workers: int = 1,
          intra_op_threads: int = 0, inter_op_threads: int = 0, requests_per_connection: int = 100) -> None:
    """Serves until interrupted (Ctrl-C or SIGTERM finish the requests in flight, then stop),
    in this process, or in `workers` processes sharing the port (`sluice.serving.workers`,
    which close a keep-alive connection after `requests_per_connection` requests).

    `intra_op_threads` and `inter_op_threads` size each process's TensorFlow thread pools
    (TF Serving's tensorflow_intra_op_parallelism and tensorflow_inter_op_parallelism);
    0 leaves TensorFlow's choice to one process, and gives each of several workers its
    share of the cores (`tf_thread_counts`).
    """
    import logging

    import uvicorn

    from sluice.serving.app import create_app

    counts = tf_thread_counts(workers, intra_op_threads, inter_op_threads)
    for variable, given, count in zip(TF_THREAD_ENV, (intra_op_threads, inter_op_threads), counts):
        if given or (count and variable not in os.environ):  # TensorFlow reads it when its runtime starts
            os.environ[variable] = str(count)
    log_to_stderr()
    for name, path in options.models.items():
        logging.getLogger(__name__).info("model %s: versions under %s", name, path)
    logging.getLogger(__name__).info(
        "serving on http://%s:%d/v1/models/<name>%s", host, port, f" from {workers} worker processes" if workers > 1 else ""
    )
    if workers > 1:
        from sluice.serving.workers import serve_workers

        serve_workers(options, host, port, workers, requests_per_connection)
        return
    uvicorn.Server(_uvicorn_config(create_app(ServingCore(options)), host, port)).run()


class RunningServer:
    """A server answering in a background thread: `url` is its base URL, `core` its ServingCore."""

    def __init__(self, core: ServingCore, host: str, port: int, server, thread: threading.Thread):
        self.core, self.host, self.port = core, host, port
        self.url = f"http://{host}:{port}"
        self._server, self._thread = server, thread

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every model has a version loaded and warmed up."""
        deadline = time.monotonic() + timeout
        while not self.core.ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no version ready within {timeout} s: {[m.statuses for m in self.core.models.values()]}")
            time.sleep(0.02)


@contextlib.contextmanager
def serve_in_thread(options: ServingOptions, host: str = "127.0.0.1", core: ServingCore | None = None) -> Iterator[RunningServer]:
    """Serves `options` on a free port of `host` in a background thread for the block's duration."""
    import uvicorn

    from sluice.serving.app import create_app

    core = core or ServingCore(options)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(_uvicorn_config(create_app(core), host, port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield RunningServer(core, host, port, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
