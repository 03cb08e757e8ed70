"""10,000+ malformed or hostile requests at a `sluice serve` process on loopback: every answer
is 2xx or 4xx, the server stays up, and its memory stays flat."""

from __future__ import annotations

import base64
import http.client
import json
import random
import subprocess
import sys
import threading
import time

import psutil
import pytest

from sluice.serving.raw_features import encode_instance, read_raw_features
from tests.helpers import ROOT, free_port
from tests.sluice.serving.tiny_model import ROW, push

PAYLOADS = 10_000
WARM_UP_PAYLOADS = 2_000  # memory is measured from here on: caches and pools have filled
RSS_GROWTH_LIMIT = 40 << 20  # bytes the server may grow by over the last 8,000 payloads
TIME_LIMIT = 120.0  # seconds for all payloads
MAX_BODY = 64 << 10

pytestmark = pytest.mark.e2e  # runs the `sluice serve` command as a process, as the CLI tests do


def hostile_payloads(seed: int, count: int, valid_b64: str):
    """(method, path, body bytes) triples: broken JSON, wrong shapes and types at every level,
    odd numbers and strings, huge and deep values, binary noise, bad URLs, and some valid ones."""
    rng = random.Random(seed)
    values = [
        None, True, False, 0, -1, 2**63, -(2**63) - 1, 2**64, 1e308, -1e308, 1.5, 0.1, "", "x" * 5000, "Private",
        "\u00e9\u4e2d\U0001f600", "\x00", [], [1], [1, 2], {}, {"b64": "AAAA"}, {"b64": valid_b64}, {"b64": 7}, [[[]]],
        "NaN", "Infinity",
    ]
    paths = [
        "/v1/models/tiny:predict", "/v1/models/tiny:classify", "/v1/models/tiny:regress", "/v1/models/tiny/versions/1:predict",
        "/v1/models/tiny/versions/99999999999999999999:predict", "/v1/models/tiny/versions/-1:predict", "/v1/models/none:predict",
        "/v1/models/tiny:", "/v1/models/:predict", "/v1/models/tiny%00:predict", "/v1/models/" + "a" * 3000 + ":predict",
        "/v1/models/tiny/versions/1/metadata", "/v1/models/tiny/metadata/x", "/v1/models/tiny", "/v1/models/tiny/versions/x",
    ]

    def row():
        keys = rng.sample(["age", "hours", "workclass", "colour", "", "b64", "examples", "\u2603"], rng.randint(0, 5))
        return {key: rng.choice(values) for key in keys}

    def body():
        kind = rng.randrange(14)
        if kind == 0:
            return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
        if kind == 1:
            valid = json.dumps({"instances": [ROW, row()]}).encode()
            return valid[: rng.randint(0, len(valid) - 1)]
        if kind == 2:
            depth = rng.choice([10, 600, 2000, 20_000])
            return (b"[" * depth + b"]" * depth) if rng.random() < 0.5 else b'{"instances": ' + b"[" * depth + b"]" * depth + b"}"
        if kind == 3:
            return json.dumps({"instances": [row() for _ in range(rng.randint(0, 5))]}).encode()
        if kind == 4:
            return json.dumps({"inputs": {k: [rng.choice(values) for _ in range(rng.randint(0, 3))] for k in ("age", "hours", rng.choice(["workclass", "zz"]))}}).encode()
        if kind == 5:
            return json.dumps({"examples": [row() for _ in range(rng.randint(0, 3))], "context": rng.choice([None, {}, row(), [1], "x"])}).encode()
        if kind == 6:
            return json.dumps({rng.choice(["instances", "inputs", "examples", "signature_name", "x"]): rng.choice(values)}).encode()
        if kind == 7:
            return rng.choice([b"", b" ", b"null", b"[]", b"{}", b"1", b'"s"', b"NaN", b'{"instances": NaN}', b'{"a":1,"a":2}', b"\xff\xfe"])
        if kind == 8:
            return json.dumps({"instances": [{"b64": base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 60)))).decode()}]}).encode()
        if kind == 9:
            return b'{"instances": [' + b",".join([json.dumps(ROW).encode()] * rng.choice([1, 2, 1001])) + b"]}"
        if kind == 10:
            return b'{"instances": [{"age": 1' + b"0" * rng.choice([20, 400, 5000]) + b', "hours": 1.0}]}'
        if kind == 11:
            return b'{"instances": [{"age": 1, "hours": 1e' + str(rng.choice([38, 39, 400, -400])).encode() + b"}]}"
        if kind == 12:
            return b"x" * (MAX_BODY + rng.randint(1, 1000))
        return json.dumps({"instances": [ROW]}).encode()  # valid

    for _ in range(count):
        path = rng.choice(paths)
        method = "POST" if rng.random() < 0.9 else rng.choice(["GET", "PUT", "DELETE"])
        yield method, path, body()


@pytest.fixture
def served_process(tiny_model, tmp_path):
    base = tmp_path / "tiny"
    base.mkdir()
    push(tiny_model, base, 1)
    port = free_port()
    command = [
        sys.executable, "-m", "sluice.cli", "serve", "--model-dir", f"tiny={base}", "--port", str(port),
        "--max-body-bytes", str(MAX_BODY), "--max-instances", "1000", "--poll-seconds", "0.5",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the server was not ready in 120 s"
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        yield process, port
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert process.returncode in (0, -15, 143), process.returncode  # stopped by SIGTERM, never a crash


def test_hostile_payloads_get_2xx_or_4xx_and_leave_the_server_up_and_flat(served_process, tiny_model):
    process, port = served_process
    valid_b64 = base64.b64encode(encode_instance(ROW, read_raw_features(tiny_model))).decode()
    payloads = list(hostile_payloads(seed=15, count=PAYLOADS, valid_b64=valid_b64))
    statuses: list = [None] * len(payloads)
    rss: dict[str, int] = {}
    server = psutil.Process(process.pid)
    deadline = time.monotonic() + TIME_LIMIT

    def send(indices) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for index in indices:
            if time.monotonic() > deadline:
                return
            method, path, body = payloads[index]
            try:
                connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                statuses[index] = response.status
                if response.getheader("connection", "").lower() == "close":
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            except (OSError, http.client.HTTPException) as error:  # the server may close a connection it refused a body on
                statuses[index] = f"{type(error).__name__}: {error}"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def run(indices: range, threads: int = 4) -> None:
        workers = [threading.Thread(target=send, args=(indices[t::threads],)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    run(range(0, WARM_UP_PAYLOADS))
    rss["warm"] = server.memory_info().rss
    run(range(WARM_UP_PAYLOADS, PAYLOADS))
    rss["end"] = server.memory_info().rss

    assert all(s is not None for s in statuses), f"{statuses.count(None)} payloads not sent within {TIME_LIMIT} s"
    dropped = [i for i, s in enumerate(statuses) if not isinstance(s, int)]
    # A connection may only be dropped after a 413 (the server refuses to read an oversized body).
    assert all(len(payloads[i][2]) > MAX_BODY for i in dropped), [(payloads[i][1], payloads[i][2][:80], statuses[i]) for i in dropped[:5]]
    answered = [s for s in statuses if isinstance(s, int)]
    assert all(200 <= s < 300 or 400 <= s < 500 for s in answered), sorted({s for s in answered if not (200 <= s < 300 or 400 <= s < 500)})
    assert answered.count(200) > 100 and sum(400 <= s < 500 for s in answered) > PAYLOADS // 2

    assert process.poll() is None
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", "/v1/models/tiny:predict", body=json.dumps({"instances": [ROW]}))
    assert connection.getresponse().status == 200
    print(f"server RSS after warm-up {rss['warm'] >> 20} MiB, at the end {rss['end'] >> 20} MiB; answers {sorted(set(answered))}")
    assert rss["end"] - rss["warm"] < RSS_GROWTH_LIMIT, rss
