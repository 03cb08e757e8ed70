"""The run-history store: several processes write at once without losing a record, and an
execution whose process was killed shows as failed, not running."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from sluice.artifacts import Artifact
from sluice.metadata.store import FAILED, KILLED, SUCCEEDED, MetadataStore, executions

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

WRITER = textwrap.dedent("""
    import os, sys, time
    from sluice.artifacts import Artifact
    from sluice.metadata.store import MetadataStore

    path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = MetadataStore(path)
    open(path + "." + name + ".ready", "w").close()
    while not os.path.exists(path + ".go"):  # both start writing together
        time.sleep(0.01)
    began = time.time()
    shared = Artifact("/data/shared", "Text", "p", {"rows": 1}, "f0", {})
    for index in range(count):
        own = Artifact(f"/data/{name}/{index}", "Text", "p", {"index": index}, f"f-{name}-{index}", {})
        execution = store.begin_execution(
            pipeline="p", run_id=f"run-{index % 3}", run_dir="/runs", component=f"{name}-{index}",
            producer="p", cache_key=None, inputs={"shared": shared},
        )
        store.finish_execution(execution, "succeeded", output=own)
    open(path + "." + name + ".span", "w").write(f"{began} {time.time()}")
""")


def _python(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, **kwargs)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "metadata.sqlite"
    count = 100
    writers = [_python("-c", WRITER, str(path), name, str(count)) for name in ("left", "right")]
    deadline = time.monotonic() + 60
    while not all(os.path.exists(f"{path}.{name}.ready") for name in ("left", "right")) and time.monotonic() < deadline:
        time.sleep(0.01)
    open(f"{path}.go", "w").close()
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]

    store = MetadataStore(path)
    rows = store.rows(executions.select())
    assert len(rows) == 2 * count and {row.status for row in rows} == {SUCCEEDED}
    assert len({row.component for row in rows}) == 2 * count
    (left_start, left_end), (right_start, right_end) = (
        map(float, open(f"{path}.{name}.span").read().split()) for name in ("left", "right")
    )
    assert left_start < right_end and right_start < left_end, "the two writers did not write at the same time"
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        # one shared input artifact, each execution's own output, an edge for each read and write
        assert connection.execute("SELECT count(*) FROM artifacts").fetchone() == (2 * count + 1,)
        assert connection.execute("SELECT count(*) FROM events").fetchone() == (4 * count,)
        assert connection.execute("SELECT count(*) FROM runs").fetchone() == (3,)


def test_a_killed_execution_is_marked_failed(tmp_path):
    path = tmp_path / "metadata.sqlite"
    begin_and_hang = textwrap.dedent("""
        import sys, time
        from sluice.metadata.store import MetadataStore
        store = MetadataStore(sys.argv[1])
        store.begin_execution(pipeline="p", run_id="r", run_dir="/runs/r", component="slow", producer="p", cache_key=None, inputs={})
        print("begun", flush=True)
        time.sleep(600)
    """)
    child = _python("-c", begin_and_hang, str(path), stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "begun"
    store = MetadataStore(path)
    assert store.reap_killed() == 0  # alive: still running
    assert store.rows(executions.select())[0].status == "running"

    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert store.reap_killed() == 1
    (row,) = store.rows(executions.select())
    assert (row.status, row.error) == (FAILED, KILLED) and row.ended >= row.started


def test_an_execution_not_heard_from_past_its_lease_is_marked_failed(tmp_path, monkeypatch):
    import sluice.metadata.store as store_module

    store = MetadataStore(tmp_path / "metadata.sqlite")
    execution = store.begin_execution(pipeline="p", run_id="r", run_dir="/r", component="c", producer="p", cache_key=None, inputs={})
    with store.engine.begin() as connection:  # as if on another host, silent for a while
        connection.execute(executions.update().values(host="elsewhere", heartbeat=time.time() - 60))
    assert store.reap_killed() == 0
    monkeypatch.setattr(store_module, "LEASE_SECONDS", 30.0)
    assert store.reap_killed() == 1
    assert store.rows(executions.select().where(executions.c.id == execution))[0].error == KILLED


def test_inputs_are_recorded_once_under_their_real_path(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    store = MetadataStore(tmp_path / "metadata.sqlite")
    for uri in (real, tmp_path / "link"):
        store.begin_execution(
            pipeline="p", run_id="r", run_dir="/r", component="c", producer="p", cache_key=None,
            inputs={"up": Artifact(str(uri), "Text", "p", {}, "f", {})},
        )
    with sqlite3.connect(tmp_path / "metadata.sqlite") as connection:
        assert connection.execute("SELECT uri FROM artifacts").fetchall() == [(str(real),)]
