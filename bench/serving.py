"""REST serving: `sluice serve` beside a direct call of the same signature and a bare HTTP endpoint.

One run, one load generator, three targets:
  sluice  `sluice serve --model-dir census=...` in its own process, as users run it;
  direct  the same version loaded in-process (`load_version`), its signature called on
          pre-encoded tf.Examples (no HTTP, no JSON): the model's own cost;
  bare    a FastAPI route on uvicorn with the server's settings that reads the body and
          returns a constant: the HTTP floor on this machine.
The generator is its own process: asyncio on uvloop, one raw keep-alive HTTP/1.1 connection
per client, closed loop (each client sends its next request when the answer arrives); the
direct side runs the same closed loop with one thread per client. Its own ceiling is
measured against a raw asyncio server that answers a constant (far cheaper than uvicorn).
Each figure is the median of `--repeats` repetitions, the targets interleaved. Every run
is bounded in time (`--seconds`) and in requests (`--max-requests`); loopback only.

After the measured runs, a push: while 20 clients send single rows, the version is copied
to a higher number (staged under a dot-name, then renamed, as the Pusher does), and the
load runs on until the server serves it; every request must still succeed.

    .venv/bin/python bench/serving.py                              # latest push under sluice_home/serving/census
    .venv/bin/python bench/serving.py --model-dir sluice_home/serving/census/<version> --repeats 5
    .venv/bin/python bench/serving.py --serve-arg=--workers=2          # two server processes on the port
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from fastapi import Request  # module level: the bare route's annotations are resolved here
from fastapi.responses import Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PATH = "/v1/models/census:predict"
DISTINCT_BODIES = 16  # request bodies per row count, sent round-robin
LATENCY_CLIENTS = (1, 20)
ROWS_PER_REQUEST = (1, 32, 256)
START_TIMEOUT_S = 180


# ---------------------------------------------------------------- load generator (own process)

def _request_bytes(body: bytes) -> bytes:
    head = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _bodies(rows: list[dict], per_request: int) -> list[bytes]:
    import orjson

    return [
        orjson.dumps({"instances": [rows[(start * per_request + i) % len(rows)] for i in range(per_request)]})
        for start in range(DISTINCT_BODIES)
    ]


async def _http_run(port: int, requests: list[bytes], clients: int, warmup: float, seconds: float,
                    max_requests: int, stop_file: str | None) -> dict:
    import asyncio

    loop = asyncio.get_running_loop()
    clock = time.perf_counter  # loop.time() is uvloop's millisecond clock
    begin = clock()
    measure_from, deadline = begin + warmup, begin + warmup + seconds
    state = {"stop": False, "sent": 0, "failures": 0, "errors": []}
    latencies: list[float] = []

    async def watch() -> None:
        while not state["stop"]:
            if clock() >= deadline or state["sent"] >= max_requests or (stop_file and os.path.exists(stop_file)):
                state["stop"] = True
            await asyncio.sleep(0.02)

    def failed(message: str) -> None:
        state["failures"] += 1
        if len(state["errors"]) < 5:
            state["errors"].append(message[:300])

    async def client(index: int) -> None:
        connection = None
        position = index
        while not state["stop"]:
            connecting = None
            if connection is None:
                connecting = clock()  # a new connection's set-up counts in its first request's latency
                try:
                    connection = await asyncio.open_connection("127.0.0.1", port)
                except OSError as error:
                    failed(f"connect: {error}")
                    await asyncio.sleep(0.05)
                    continue
            reader, writer = connection
            request = requests[position % len(requests)]
            position += 1
            state["sent"] += 1
            started = connecting or clock()
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                lower = head.lower()
                at = lower.find(b"content-length:")
                if at < 0:
                    raise ConnectionError(f"no Content-Length in {head[:200]!r}")
                length = int(lower[at + 15 : lower.index(b"\r\n", at)])
                body = await reader.readexactly(length)
                if b"connection: close" in lower:  # the server ends this connection: open another, as HTTP clients do
                    writer.close()
                    connection = None
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
                failed(f"{type(error).__name__}: {error}")
                writer.close()
                connection = None
                continue
            finished = clock()
            if head[9:12] != b"200":
                failed(f"{head[9:12].decode()} {body[:200]!r}")
            elif started >= measure_from and finished <= deadline:
                latencies.append(finished - started)
        if connection is not None:
            connection[1].close()

    cpu = time.process_time()
    tasks = [asyncio.ensure_future(client(i)) for i in range(clients)]
    await watch()
    _, stuck = await asyncio.wait(tasks, timeout=10)  # a request unanswered 10 s after the end counts as failed
    for task in stuck:
        task.cancel()
        failed("no answer within 10 s of the run's end")
    window = min(clock(), deadline) - measure_from
    return _summary(latencies, window, state["failures"], state["errors"], time.process_time() - cpu)


def _summary(latencies: list[float], window: float, failures: int, errors: list[str], cpu_s: float) -> dict:
    import numpy as np

    done = np.array(latencies) * 1000 if latencies else np.array([float("nan")])
    return {
        "requests": len(latencies), "window_s": window, "rps": len(latencies) / window if window > 0 else 0.0,
        "p50_ms": float(np.percentile(done, 50)), "p99_ms": float(np.percentile(done, 99)),
        "failures": failures, "errors": errors, "cpu_s": cpu_s,
    }


def loadgen_phase(rows_file: str) -> None:
    """Answers one JSON command a line on stdin ({port, rows, clients, warmup, seconds, max_requests, stop_file})."""
    import asyncio

    import uvloop

    rows = json.loads(Path(rows_file).read_text())
    requests = {n: [_request_bytes(b) for b in _bodies(rows, n)] for n in ROWS_PER_REQUEST}
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        result = uvloop.run(_http_run(
            command["port"], requests[command["rows"]], command["clients"], command["warmup"], command["seconds"],
            command["max_requests"], command.get("stop_file"),
        ))
        print(json.dumps(result), flush=True)


# ---------------------------------------------------------------- direct calls (own process)

def direct_phase(rows_file: str, model_dir: str) -> None:
    """The same closed loop, one thread per client, each calling the loaded signature."""
    import threading

    from sluice.process import exit_now, quiet_library_noise
    from sluice.serving.loaded_version import load_version, warm_up
    from sluice.serving.rest_requests import parse_body

    quiet_library_noise()
    path = Path(model_dir)
    loaded = load_version("census", int(path.name), path)
    warm_up(loaded)
    rows = json.loads(Path(rows_file).read_text())
    bodies = {n: _bodies(rows, n) for n in ROWS_PER_REQUEST}
    examples = {n: [loaded.encoder.encode_all(parse_body(b, "predict", 10_000).rows) for b in bodies[n]] for n in bodies}
    print(json.dumps({"ready": True}), flush=True)

    for line in sys.stdin:
        command = json.loads(line)
        if command.get("breakdown"):
            print(json.dumps(_breakdown(loaded, bodies[command["rows"]])), flush=True)
            continue
        batches, clients = examples[command["rows"]], command["clients"]
        begin = time.perf_counter()
        measure_from = begin + command["warmup"]
        deadline = measure_from + command["seconds"]
        latencies: list[float] = []
        sent = [0]
        lock = threading.Lock()

        def client(index: int) -> None:
            position = index
            while True:
                with lock:
                    if sent[0] >= command["max_requests"]:
                        return
                    sent[0] += 1
                started = time.perf_counter()
                if started >= deadline:
                    return
                loaded.predict(batches[position % len(batches)])
                finished = time.perf_counter()
                position += 1
                if started >= measure_from and finished <= deadline:
                    latencies.append(finished - started)

        cpu = time.process_time()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        window = min(time.perf_counter(), deadline) - measure_from
        print(json.dumps(_summary(latencies, window, 0, [], time.process_time() - cpu)), flush=True)
    exit_now(0)


def _breakdown(loaded, bodies: list[bytes], repeats: int = 50) -> dict:
    """Median ms of each step a request of these bodies takes in the server, outside HTTP."""
    from sluice.serving.rest_requests import parse_body

    steps = {"parse": [], "encode": [], "model": [], "answer": []}
    import orjson

    for index in range(repeats):
        body = bodies[index % len(bodies)]
        t0 = time.perf_counter()
        parsed = parse_body(body, "predict", 10_000)
        t1 = time.perf_counter()
        examples = loaded.encoder.encode_all(parsed.rows)
        t2 = time.perf_counter()
        scores = loaded.predict(examples)
        t3 = time.perf_counter()
        orjson.dumps({"predictions": scores.tolist()})
        t4 = time.perf_counter()
        for name, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            steps[name].append(seconds * 1000)
    return {name: statistics.median(values) for name, values in steps.items()}


# ---------------------------------------------------------------- the other servers (own processes)

def bare_phase(port: str) -> None:
    """A FastAPI route that reads the body and answers a constant, on the server's uvicorn settings."""
    import uvicorn
    from fastapi import FastAPI

    from sluice.serving.server import _uvicorn_config

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    answer = b'{"predictions":[0.5]}'

    @app.post("/v1/models/{path:path}")
    async def predict(path: str, request: Request) -> Response:
        await request.body()
        return Response(answer, media_type="application/json")

    uvicorn.Server(_uvicorn_config(app, "127.0.0.1", int(port))).run()


def ceiling_phase(port: str) -> None:
    """A raw asyncio server answering every request with a constant: the generator's ceiling."""
    import asyncio

    import uvloop

    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 21\r\ncontent-type: application/json\r\n\r\n" + b'{"predictions":[0.5]}'

    class Constant(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.buffer = transport, b""

        def data_received(self, data):
            self.buffer += data
            while True:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                lower = self.buffer[:end].lower()
                at = lower.find(b"content-length:")
                length = int(lower[at + 15 : lower.find(b"\r\n", at) if lower.find(b"\r\n", at) > 0 else end]) if at >= 0 else 0
                if len(self.buffer) < end + 4 + length:
                    return
                self.buffer = self.buffer[end + 4 + length :]
                self.transport.write(answer)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Constant, "127.0.0.1", int(port))
        async with server:
            await server.serve_forever()

    uvloop.run(main())


# ---------------------------------------------------------------- the run

class Child:
    """A phase of this script (or a command) in a child process; `ask` sends a JSON line, reads one."""

    def __init__(self, command: list[str], env: dict, log: Path, talk: bool = False):
        self.log = log
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE if talk else subprocess.DEVNULL,
            stdout=subprocess.PIPE if talk else log.open("w"), stderr=log.open("a") if talk else subprocess.STDOUT,
            start_new_session=True,
        )

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"child {self.process.args[:4]} ended; its log {self.log}:\n{self.log.read_text()[-3000:]}")
        return json.loads(line)

    def ask(self, command: dict) -> dict:
        self.send(command)
        return self.read()

    def send(self, command: dict) -> None:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: Child, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited; its log {process.log}:\n{process.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:  # refused, or 503 (urllib's HTTPError) while loading
            time.sleep(0.1)
    raise TimeoutError(f"{url} not ready within {timeout} s")


def served_versions(base_url: str) -> dict[str, str]:
    with urllib.request.urlopen(f"{base_url}/v1/models/census", timeout=5) as answer:
        return {s["version"]: s["state"] for s in json.loads(answer.read())["model_version_status"]}


def census_rows(count: int) -> list[dict]:
    """The first `count` rows of adult.test as request rows (typed raw values, label left out)."""
    import gzip
    import io

    from pipelines.census.pipeline import CSV_FORMAT, LABEL_KEY
    from sluice.data.rows import CsvFormat, Row, read_rows, typed_values

    fmt = CsvFormat(**CSV_FORMAT)
    rows = []
    with io.BytesIO(gzip.open(ROOT / "pipelines" / "census" / "data" / "adult.test.gz").read()) as handle:
        for row in read_rows(handle, "adult.test", fmt):
            if isinstance(row, Row):
                values = typed_values(row, fmt)
                if isinstance(values, dict):
                    rows.append({k: v for k, v in values.items() if k != LABEL_KEY})
            if len(rows) == count:
                break
    return rows


def default_model_dir() -> Path | None:
    from pipelines.census.pipeline import CensusConfig
    from sluice.config import default_home

    base = Path(CensusConfig(home=default_home()).serving_root) / "census"
    versions = sorted((p for p in base.glob("*") if p.name.isdigit()), key=lambda p: int(p.name)) if base.is_dir() else []
    return versions[-1] if versions else None


def pick_model(given: str | None) -> Path:
    if given is None:
        found = default_model_dir()
        if found is None:
            sys.exit("no pushed census model under sluice_home/serving/census: run `make demo` (or "
                     "`.venv/bin/sluice run census`) first, or pass --model-dir <a pushed version directory>")
        return found
    path = Path(given).resolve()
    if not (path / "saved_model.pb").exists():  # a base path: its highest version
        versions = sorted((p for p in path.glob("*") if p.name.isdigit()), key=lambda p: int(p.name))
        if not versions:
            sys.exit(f"{path}: neither a pushed version (saved_model.pb) nor a directory of numbered versions")
        path = versions[-1]
    if not (path / "assets.extra" / "raw_features.json").exists():
        sys.exit(f"{path}: no assets.extra/raw_features.json (pushed by an older Sluice); push again with `make demo`")
    return path


def scenarios(throughput_clients: int) -> list[tuple[str, int, int]]:
    """(label, rows per request, clients)."""
    found = [(f"1 row, {c} client{'s' * (c > 1)}", 1, c) for c in LATENCY_CLIENTS]
    for rows in ROWS_PER_REQUEST[1:]:  # single rows: the 20-client run
        found.append((f"{rows} rows, {throughput_clients} clients", rows, throughput_clients))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=None, help="A pushed census version (or a directory of versions); default: the latest under sluice_home/serving/census.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="Measured seconds of each run (after --warmup).")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--max-requests", type=int, default=200_000, help="Requests of one run at most.")
    parser.add_argument("--throughput-clients", type=int, default=8, help="Clients of the 32- and 256-row runs.")
    parser.add_argument("--serve-arg", action="append", default=[], help="An extra `sluice serve` option (repeatable), e.g. --serve-arg=--batch-timeout-ms=1.")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        {"loadgen": loadgen_phase, "direct": direct_phase, "bare": bare_phase, "ceiling": ceiling_phase}[name](*rest)
        return

    model = pick_model(args.model_dir)
    load_before = os.getloadavg()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="sluice-bench-serving-"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    children: list[Child] = []
    try:
        rows_file = work / "rows.json"
        rows_file.write_text(json.dumps(census_rows(DISTINCT_BODIES * max(ROWS_PER_REQUEST))))
        base = work / "models" / "census"
        base.mkdir(parents=True)
        shutil.copytree(model, base / model.name)
        me = [sys.executable, str(Path(__file__).resolve()), "--phase"]
        ports = {name: free_port() for name in ("sluice", "bare", "ceiling")}

        def child(command: list[str], log: str, talk: bool = False) -> Child:
            children.append(Child(command, env, work / log, talk))
            return children[-1]

        sluice = child([sys.executable, "-m", "sluice.cli", "serve", "--model-dir", f"census={base}",
                        "--port", str(ports["sluice"]), *args.serve_arg], "sluice-serve.log")
        bare = child([*me, "bare", str(ports["bare"])], "bare.log")
        ceiling = child([*me, "ceiling", str(ports["ceiling"])], "ceiling.log")
        direct = child([*me, "direct", str(rows_file), str(model)], "direct.log", talk=True)
        loadgen = child([*me, "loadgen", str(rows_file)], "loadgen.log", talk=True)
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        wait_http(urls["sluice"] + "/readyz", sluice)
        for name, process in (("bare", bare), ("ceiling", ceiling)):
            _wait_port(ports[name], process)
        direct.read(), loadgen.read()
        print(f"model {model}; load average at start {_load(load_before)}; targets up in {time.monotonic() - started:.0f} s", flush=True)

        plan = scenarios(args.throughput_clients)
        bounds = {"warmup": args.warmup, "seconds": args.seconds, "max_requests": args.max_requests}
        results: dict[tuple[str, str], list[dict]] = {}
        for repeat in range(args.repeats):
            for label, rows, clients in plan:
                for target in ("bare", "direct", "sluice"):
                    command = {"rows": rows, "clients": clients, **bounds}
                    result = direct.ask(command) if target == "direct" else loadgen.ask({**command, "port": ports[target]})
                    results.setdefault((label, target), []).append(result)
            print(f"repeat {repeat + 1}/{args.repeats} done, load average {_load(os.getloadavg())}", flush=True)
        ceilings = {
            (label, rows, clients): [loadgen.ask({"rows": rows, "clients": clients, **bounds, "port": ports["ceiling"]}) for _ in range(args.repeats)]
            for label, rows, clients in plan if label in (plan[1][0], plan[-1][0])
        }
        breakdown = {rows: direct.ask({"breakdown": True, "rows": rows}) for rows in ROWS_PER_REQUEST}
        swap = push_during_load(loadgen, ports["sluice"], urls["sluice"], base, model, work)
        report(plan, results, ceilings, breakdown, swap, args, model, load_before)
    finally:
        for process in reversed(children):
            process.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nwall time {time.monotonic() - started:.0f} s; load average at end {_load(os.getloadavg())}")


def _wait_port(port: int, process: Child, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"port {port}: the server exited; its log {process.log}:\n{process.log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def push_during_load(loadgen: Child, port: int, url: str, base: Path, model: Path, work: Path, limit_s: float = 120) -> dict:
    """20 clients of single rows while a new version is pushed; runs until it is served (at most `limit_s`)."""
    new = int(model.name) + 1
    stop_file = work / "stop"
    loadgen.send({"rows": 1, "clients": 20, "warmup": 0.0, "seconds": limit_s, "max_requests": 10**9, "port": port, "stop_file": str(stop_file)})
    time.sleep(1.0)
    pushed = time.monotonic()
    staging = base / f".{new}.staging"
    shutil.copytree(model, staging)
    staging.rename(base / str(new))
    states: dict[str, str] = {}
    while time.monotonic() - pushed < limit_s - 5:
        states = served_versions(url)
        if states.get(str(new)) == "AVAILABLE":
            break
        time.sleep(0.1)
    swapped_s = time.monotonic() - pushed
    time.sleep(1.0)  # traffic on the new version too
    stop_file.touch()
    result = loadgen.read()
    return {**result, "new_version": new, "states": served_versions(url), "swapped_s": swapped_s}


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in load)


def _median(values: list[dict], key: str) -> float:
    return statistics.median(value[key] for value in values)


def report(plan, results, ceilings, breakdown, swap, args, model, load_before) -> None:
    print(f"\nmedians of {args.repeats} runs of {args.seconds:g} s (after {args.warmup:g} s warm-up) each; request bodies "
          f"cycle over {DISTINCT_BODIES} per row count, from {DISTINCT_BODIES * max(ROWS_PER_REQUEST)} adult.test rows; "
          f"`sluice serve` {' '.join(args.serve_arg) or 'with its defaults'}")
    print(f"{'':<22} {'target':<7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'rows/s':>10} {'gen CPU':>8} {'failed':>7}")
    for label, rows, clients in plan:
        for target in ("bare", "direct", "sluice"):
            runs = results[(label, target)]
            rps = _median(runs, "rps")
            cpu = _median(runs, "cpu_s") / _median(runs, "window_s") if target != "direct" else float("nan")
            failed = sum(run["failures"] for run in runs)
            print(f"{label if target == 'bare' else '':<22} {target:<7} {_median(runs, 'p50_ms'):8.2f} {_median(runs, 'p99_ms'):8.2f} "
                  f"{rps:9.0f} {rps * rows:10.0f} {cpu:8.0%} {failed:7d}".replace(" nan%", "   - "))
    print("(gen CPU: the load generator's CPU time over the run's wall time, of one core; direct runs in its own threads)")

    print("\nload generator ceiling (against a raw asyncio server answering a constant):")
    for (label, rows, clients), runs in ceilings.items():
        bare_rps = _median(results[(label, "bare")], "rps")
        ceiling_rps = _median(runs, "rps")
        print(f"  {label:<22} {ceiling_rps:9.0f} req/s, gen CPU {_median(runs, 'cpu_s') / _median(runs, 'window_s'):.0%}; "
              f"bare FastAPI endpoint {bare_rps:.0f} req/s = {bare_rps / ceiling_rps:.2f} of it")

    print("\nwhere a request's time goes in the server, outside HTTP (median ms, in the direct process):")
    for rows, steps in breakdown.items():
        print(f"  {rows:>3} rows: " + ", ".join(f"{name} {ms:.3f}" for name, ms in steps.items())
              + f"; the model alone, one caller: {rows / steps['model'] * 1000:.0f} rows/s")

    print(f"\npush during load: version {swap['new_version']} copied in (staged as a dot-name, renamed) while 20 clients "
          f"sent single rows; served after {swap['swapped_s']:.1f} s; {swap['requests']} requests, "
          f"p50 {swap['p50_ms']:.2f} ms, p99 {swap['p99_ms']:.2f} ms, {swap['failures']} failed; states now {swap['states']}")
    for error in swap["errors"]:
        print(f"  failure: {error}")

    def value(label, target, key):
        return _median(results[(label, target)], key)

    one, twenty = plan[0][0], plan[1][0]
    big = next(label for label, rows, _ in plan if rows == max(ROWS_PER_REQUEST))
    failures = sum(run["failures"] for runs in results.values() for run in runs) + swap["failures"]
    swapped = swap["states"].get(str(swap["new_version"])) == "AVAILABLE"
    goals = [
        (f"REST p50 at 1 client within 1.5 ms of the direct call's: {value(one, 'sluice', 'p50_ms'):.2f} - "
         f"{value(one, 'direct', 'p50_ms'):.2f} = {value(one, 'sluice', 'p50_ms') - value(one, 'direct', 'p50_ms'):.2f} ms",
         value(one, "sluice", "p50_ms") - value(one, "direct", "p50_ms") <= 1.5),
        (f"REST p99 at 20 clients under 25 ms: {value(twenty, 'sluice', 'p99_ms'):.2f} ms", value(twenty, "sluice", "p99_ms") < 25),
        (f"single-row req/s at 20 clients >= 0.5 of the bare endpoint's: {value(twenty, 'sluice', 'rps'):.0f} / "
         f"{value(twenty, 'bare', 'rps'):.0f} = {value(twenty, 'sluice', 'rps') / value(twenty, 'bare', 'rps'):.2f}",
         value(twenty, "sluice", "rps") >= 0.5 * value(twenty, "bare", "rps")),
        (f"256-row rows/s >= 0.5 of the direct call's: {value(big, 'sluice', 'rps') * 256:.0f} / {value(big, 'direct', 'rps') * 256:.0f} = "
         f"{value(big, 'sluice', 'rps') / value(big, 'direct', 'rps'):.2f}",
         value(big, "sluice", "rps") >= 0.5 * value(big, "direct", "rps")),
        (f"zero failed requests, a push swapped in during load included: {failures} failed, new version served: {swapped}",
         failures == 0 and swapped),
    ]
    print("\ngoals:")
    for text, passed in goals:
        print(f"  {'PASS' if passed else 'FAIL'}  {text}")


if __name__ == "__main__":
    main()
