"""What a killed attempt leaves is cleaned by the next one: drafts whose writer is dead,
call_in_child's scratch directories, and the worker processes it started."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from sluice.artifacts import remove_abandoned_drafts
from sluice.execute import execute
from sluice.pipeline import Component
from sluice.process import process_alive, remove_abandoned_scratch

ENTRY = "tests.sluice.metadata.tiny_components:SPEC"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_drafts_of_dead_writers_go_and_those_of_live_writers_stay(tmp_path):
    host = socket.gethostname()
    dead = tmp_path / f".transform.draft-{_dead_pid()}@{host}-abc_12"
    live = tmp_path / f".tuner.draft-{os.getpid()}@{host}-def34"
    from_before_owners = tmp_path / ".schema_gen.draft-k2j4l5"
    for draft in (dead, live, from_before_owners):
        (draft / "part").mkdir(parents=True)
    assert sorted(remove_abandoned_drafts(tmp_path)) == sorted([dead, from_before_owners])
    assert live.is_dir() and not dead.exists() and not from_before_owners.exists()


def test_executing_in_a_run_dir_removes_a_killed_attempts_draft(tmp_path):
    leftover = tmp_path / f".a.draft-{_dead_pid()}@{socket.gethostname()}-xyz"
    (leftover / "half").mkdir(parents=True)
    outcome = execute(Component("a", ENTRY, params={"text": "x"}), tmp_path, {})
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"] and Path(outcome.uri, "out.txt").read_text() == "x"


def test_scratch_of_a_dead_caller_is_removed(tmp_path):
    dead = Path(tempfile.mkdtemp(prefix=f"sluice-child-{_dead_pid()}-"))
    mine = Path(tempfile.mkdtemp(prefix=f"sluice-child-{os.getpid()}-"))
    try:
        remove_abandoned_scratch()
        assert not dead.exists() and mine.is_dir()
    finally:
        mine.rmdir()


def test_a_child_dies_with_the_killed_process_that_started_it():
    parent_code = textwrap.dedent("""
        import subprocess, sys, time
        from sluice.process import die_with_parent
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], preexec_fn=die_with_parent())
        print(child.pid, flush=True)
        time.sleep(120)
    """)
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}
    )
    child_pid = int(parent.stdout.readline())
    assert process_alive(child_pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 20
    while process_alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(child_pid)
