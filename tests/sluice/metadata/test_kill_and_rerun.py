"""A real `sluice run census` SIGKILLed in the middle of Transform, rerun and SIGKILLed in
the middle of the Tuner, then rerun to the end: each rerun completes what is left, cleans
what the killed attempt left (drafts, worker processes), records the killed execution as
failed, and its deterministic artifacts equal an uninterrupted run's (the shared run)."""

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

from sluice.artifacts import read_artifact
from sluice.metadata.store import KILLED, MetadataStore, executions
from tests.helpers import ROOT, SHARED_RUN_BEAM_ARGS, SLUICE, SMALL_CENSUS_OVERRIDES, as_options

# Payload files whose bytes vary between uninterrupted runs too: ExampleGen's TFRecords
# (record order) and the SavedModel of TFT's graph. Everything else of these steps is equal.
DETERMINISTIC = ("example_gen", "statistics_gen", "schema_gen", "transform")
VARYING = ("*.tfrecord", "transform_fn/saved_model.pb", "transform_fn/fingerprint.pb")
# Settings that leave Transform and all before it as in the shared run, and make the rest quick.
QUICK_MODEL = ("trainer.train_steps=5", "trainer.ensemble_size=1")


def _start(home: Path) -> subprocess.Popen:
    args = ["run", "census", "--home", str(home), "--run-id", "crash", *as_options(SMALL_CENSUS_OVERRIDES + QUICK_MODEL), *SHARED_RUN_BEAM_ARGS]
    return subprocess.Popen([SLUICE, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _kill_when(run: subprocess.Popen, ready, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert run.poll() is None, f"the run ended before the kill point: {run.stdout.read()[-3000:]}"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.2)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=60)


def _for_a_while(condition, seconds: float):
    """True once `condition` has held for `seconds`."""
    since = {}

    def check() -> bool:
        if not condition():
            since.clear()
            return False
        since.setdefault("t", time.monotonic())
        return time.monotonic() - since["t"] >= seconds

    return check


def _file_hashes(artifact: Path) -> dict[str, str]:
    """sha256 of each payload file whose bytes the work determines."""
    import hashlib

    return {
        path.relative_to(artifact.resolve()).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(artifact.resolve().rglob("*"))
        if path.is_file() and path.name != "artifact.json" and not any(path.match(pattern) for pattern in VARYING)
    }


def _drafts(run_dir: Path, component: str) -> list[Path]:
    return list(run_dir.glob(f".{component}.draft-*"))


def _session_survivors(session: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 20
    while True:
        alive = [p for p in psutil.process_iter() if _session_of(p) == session and p.status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _session_of(process: psutil.Process) -> int | None:
    try:
        return os.getsid(process.pid)
    except (ProcessLookupError, PermissionError):
        return None


def test_a_run_killed_mid_transform_and_mid_tuner_completes_on_rerun(census_run, tmp_path):
    home = tmp_path / "home"
    run_dir = home / "artifacts" / "census" / "crash"

    first = _start(home)
    _kill_when(first, _for_a_while(lambda: _drafts(run_dir, "transform"), seconds=3))
    assert _drafts(run_dir, "transform") and not (run_dir / "transform").exists()  # no half artifact visible

    second = _start(home)
    # the search keeps its resumable state beside the run (.tuner.search) while its draft fills
    _kill_when(second, _for_a_while(lambda: _drafts(run_dir, "tuner") and (run_dir / ".tuner.search").exists(), seconds=5))
    assert not _drafts(run_dir, "transform"), "the rerun left the killed Transform's draft"
    assert _drafts(run_dir, "tuner") and not (run_dir / "tuner").exists()
    assert _session_survivors(second.pid) == [], "the killed run left worker processes"

    third = _start(home)
    output, _ = third.communicate(timeout=600)
    assert third.returncode == 0, output[-3000:]
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []
    for component in DETERMINISTIC:
        assert _file_hashes(run_dir / component) == _file_hashes(Path(census_run.result.uri(component))), component
    for component in ("statistics_gen", "schema_gen"):
        assert read_artifact(run_dir / component).fingerprint == read_artifact(census_run.result.uri(component)).fingerprint

    store = MetadataStore(home / "metadata.sqlite")
    rows = store.rows(sa.select(executions.c.component, executions.c.status, executions.c.error, executions.c.attempt).order_by(executions.c.id))
    killed = [(row.component, row.attempt) for row in rows if row.error == KILLED]
    assert killed == [("transform", 1), ("tuner", 1)], rows
    succeeded = {row.component for row in rows if row.status == "succeeded"}
    assert {"transform", "tuner", "trainer", "pusher"} <= succeeded
