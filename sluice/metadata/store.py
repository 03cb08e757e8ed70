"""The run history and lineage store: one embedded SQLite file per Sluice home.

It records pipelines, their runs, each component execution (status, attempt, start and
end, host, pid, error), the artifacts (URI, type, fingerprint, key properties) and the
edges between executions and the artifacts they read and wrote. `sluice run` and
Airflow tasks write to the same file (`<home>/metadata.sqlite`), from several processes
at once: SQLite in WAL mode, each write one short `BEGIN IMMEDIATE` transaction, and a
busy timeout, so writers wait for each other instead of failing or losing a record. The
switch to WAL and the schema are made once, under a file lock: two processes opening a new
store at once would otherwise deadlock in the switch until the busy timeout gives up.

An execution is `running` until it ends. One whose process was killed never says so
itself: `reap_killed` marks it failed ("killed") once its process is gone from this host,
or once its heartbeat is older than a lease (an execution on another host).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa

STORE_FILE = "metadata.sqlite"
# An execution refreshes its heartbeat this often; one not heard from for LEASE_SECONDS is dead.
HEARTBEAT_SECONDS = 30.0
LEASE_SECONDS = 600.0
KILLED = "killed"

RUNNING, SUCCEEDED, FAILED, REUSED = "running", "succeeded", "failed", "reused"

_schema = sa.MetaData()

pipelines = sa.Table(
    "pipelines", _schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False, unique=True),
    sa.Column("created", sa.Float, nullable=False),
)
runs = sa.Table(
    "runs", _schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pipeline_id", sa.ForeignKey("pipelines.id"), nullable=False),
    sa.Column("run_id", sa.String, nullable=False),
    sa.Column("run_dir", sa.String, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.UniqueConstraint("pipeline_id", "run_id"),
)
executions = sa.Table(
    "executions", _schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("component", sa.String, nullable=False),
    sa.Column("producer", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("ended", sa.Float),
    sa.Column("heartbeat", sa.Float, nullable=False),
    sa.Column("host", sa.String, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("pid_started", sa.Float),
    sa.Column("error", sa.Text),
    sa.Column("cache_key", sa.String, index=True),
    sa.Column("reused_from", sa.ForeignKey("executions.id")),
    sa.Column("external_inputs", sa.JSON),  # files named by its parameters, with their hashes
)
artifacts = sa.Table(
    "artifacts", _schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uri", sa.String, nullable=False, unique=True),
    sa.Column("type", sa.String, nullable=False),
    sa.Column("fingerprint", sa.String, nullable=False),
    sa.Column("properties", sa.JSON, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)
events = sa.Table(
    "events", _schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("execution_id", sa.ForeignKey("executions.id"), nullable=False, index=True),
    sa.Column("artifact_id", sa.ForeignKey("artifacts.id"), nullable=False, index=True),
    sa.Column("direction", sa.String, nullable=False),  # "input" or "output"
    sa.Column("name", sa.String, nullable=False),  # the input's name, or the component's for an output
)


def store_path(home: str | os.PathLike) -> Path:
    """Where a Sluice home keeps its store."""
    return Path(home) / STORE_FILE


def artifact_key(uri: str | os.PathLike) -> str:
    """The URI an artifact is recorded under: its real path, so a reused artifact's pointer
    in a later run directory names the artifact it points to."""
    text = str(uri)
    return text if "://" in text else os.path.realpath(text)


@dataclasses.dataclass(frozen=True)
class CachedArtifact:
    """A sealed artifact that an execution with the same cache key wrote."""

    execution_id: int
    uri: str
    fingerprint: str


class MetadataStore:
    """The store at `path` (created on first use)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(f"sqlite:///{self.path}", connect_args={"timeout": 60})
        sa.event.listen(self.engine, "connect", _configure_connection)
        # Take the write lock when a transaction starts, not when it first writes: two
        # transactions that read and then write would otherwise fail with "database is
        # locked" instead of waiting for each other.
        sa.event.listen(self.engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
        with _exclusive(self.path.with_name(self.path.name + ".init-lock")):
            _switch_to_wal(self.path)
            with self.engine.begin() as connection:
                _schema.create_all(connection)

    @classmethod
    def for_home(cls, home: str | os.PathLike) -> MetadataStore:
        return cls(store_path(home))

    def close(self) -> None:
        self.engine.dispose()

    # Writing ----------------------------------------------------------------------------

    def begin_execution(
        self,
        *,
        pipeline: str,
        run_id: str,
        run_dir: str,
        component: str,
        producer: str,
        cache_key: str | None,
        inputs: Mapping[str, Any],
        external_inputs: Mapping[str, str] | None = None,
    ) -> int:
        """Records a `running` execution of `component` in a run, with the artifacts it reads; returns its id."""
        now = time.time()
        with self.engine.begin() as connection:
            run_pk = _run_pk(connection, pipeline, run_id, run_dir, now)
            attempt = 1 + connection.execute(
                sa.select(sa.func.count()).select_from(executions).where(
                    executions.c.run_id == run_pk, executions.c.component == component
                )
            ).scalar_one()
            execution_id = connection.execute(
                executions.insert().values(
                    run_id=run_pk, component=component, producer=producer, status=RUNNING, attempt=attempt,
                    started=now, heartbeat=now, host=socket.gethostname(), pid=os.getpid(),
                    pid_started=_process_started(os.getpid()), cache_key=cache_key,
                    external_inputs=dict(external_inputs or {}),
                )
            ).inserted_primary_key[0]
            for name, artifact in inputs.items():
                artifact_id = _artifact_pk(connection, artifact, now)
                connection.execute(events.insert().values(execution_id=execution_id, artifact_id=artifact_id, direction="input", name=name))
        return execution_id

    def finish_execution(
        self,
        execution_id: int,
        status: str,
        *,
        output: Any | None = None,
        error: str | None = None,
        reused_from: int | None = None,
    ) -> None:
        """Ends an execution as succeeded, reused (of execution `reused_from`) or failed."""
        now = time.time()
        with self.engine.begin() as connection:
            connection.execute(
                executions.update().where(executions.c.id == execution_id).values(
                    status=status, ended=now, heartbeat=now, error=error, reused_from=reused_from
                )
            )
            if output is not None:
                artifact_id = _artifact_pk(connection, output, now)
                component = connection.execute(sa.select(executions.c.component).where(executions.c.id == execution_id)).scalar_one()
                connection.execute(events.insert().values(execution_id=execution_id, artifact_id=artifact_id, direction="output", name=component))

    def heartbeat(self, execution_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                executions.update().where(executions.c.id == execution_id, executions.c.status == RUNNING).values(heartbeat=time.time())
            )

    def beating(self, execution_id: int) -> _Heartbeat:
        """A context in which a thread keeps the execution's heartbeat fresh."""
        return _Heartbeat(self, execution_id)

    def reap_killed(self) -> int:
        """Marks failed ("killed") each running execution whose process is gone; returns how many."""
        host, now = socket.gethostname(), time.time()
        with self.engine.begin() as connection:
            running = connection.execute(
                sa.select(executions.c.id, executions.c.host, executions.c.pid, executions.c.pid_started, executions.c.heartbeat)
                .where(executions.c.status == RUNNING)
            ).all()
            dead = [
                row.id for row in running
                if (row.host == host and not _alive(row.pid, row.pid_started)) or row.heartbeat < now - LEASE_SECONDS
            ]
            if dead:
                connection.execute(
                    executions.update().where(executions.c.id.in_(dead)).values(status=FAILED, error=KILLED, ended=now)
                )
        return len(dead)

    # Reading ----------------------------------------------------------------------------

    def cached_artifact(self, cache_key: str) -> CachedArtifact | None:
        """The newest artifact an execution with `cache_key` wrote (not reused) that is still sealed as recorded."""
        from sluice.artifacts import ArtifactError, read_artifact

        query = (
            sa.select(executions.c.id, artifacts.c.uri, artifacts.c.fingerprint)
            .join(events, (events.c.execution_id == executions.c.id) & (events.c.direction == "output"))
            .join(artifacts, artifacts.c.id == events.c.artifact_id)
            .where(executions.c.cache_key == cache_key, executions.c.status == SUCCEEDED)
            .order_by(executions.c.id.desc())
        )
        with self.engine.connect() as connection:
            candidates = connection.execute(query).all()
        for row in candidates:
            try:
                sealed = read_artifact(row.uri)
            except (ArtifactError, OSError, ValueError):
                continue  # deleted, or not an artifact any more
            if sealed.fingerprint == row.fingerprint:
                return CachedArtifact(row.id, row.uri, row.fingerprint)
        return None

    def execution_that_wrote(self, uri: str | os.PathLike) -> int | None:
        """The execution that sealed the artifact at `uri` (not one that reused it)."""
        query = (
            sa.select(executions.c.id)
            .join(events, (events.c.execution_id == executions.c.id) & (events.c.direction == "output"))
            .join(artifacts, artifacts.c.id == events.c.artifact_id)
            .where(artifacts.c.uri == artifact_key(uri), executions.c.status != REUSED)
            .order_by(executions.c.id)
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()

    def rows(self, query) -> list:
        with self.engine.connect() as connection:
            return connection.execute(query).all()


class _Heartbeat:
    def __init__(self, store: MetadataStore, execution_id: int):
        self._store, self._id = store, execution_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="sluice-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self._store.heartbeat(self._id)
            except sa.exc.OperationalError:
                pass  # a busy store: the next beat will do

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    """Holds an exclusive lock on `lock_path` (created if missing) across processes."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _switch_to_wal(path: Path) -> None:
    """Puts the database file in WAL mode, which it keeps for every later connection."""
    connection = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def _configure_connection(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by the engine's "begin" event
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _run_pk(connection, pipeline: str, run_id: str, run_dir: str, now: float) -> int:
    pipeline_pk = connection.execute(sa.select(pipelines.c.id).where(pipelines.c.name == pipeline)).scalar()
    if pipeline_pk is None:
        pipeline_pk = connection.execute(pipelines.insert().values(name=pipeline, created=now)).inserted_primary_key[0]
    run_pk = connection.execute(
        sa.select(runs.c.id).where(runs.c.pipeline_id == pipeline_pk, runs.c.run_id == run_id)
    ).scalar()
    if run_pk is None:
        run_pk = connection.execute(
            runs.insert().values(pipeline_id=pipeline_pk, run_id=run_id, run_dir=str(run_dir), created=now)
        ).inserted_primary_key[0]
    return run_pk


def _artifact_pk(connection, artifact, now: float) -> int:
    """The id of `artifact` (a sluice Artifact), recorded under its real path on first sight."""
    uri = artifact_key(artifact.uri)
    found = connection.execute(sa.select(artifacts.c.id).where(artifacts.c.uri == uri)).scalar()
    if found is not None:
        return found
    return connection.execute(
        artifacts.insert().values(
            uri=uri, type=artifact.type, fingerprint=artifact.fingerprint,
            properties=json.loads(json.dumps(dict(artifact.properties))), created=now,
        )
    ).inserted_primary_key[0]


def _process_started(pid: int) -> float | None:
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:  # killed, not yet waited for by its parent
            return None
        return process.create_time()
    except psutil.Error:
        return None


def _alive(pid: int, started: float | None) -> bool:
    """Whether process `pid` of this host is the one that was recorded (not a later one with its pid)."""
    now_started = _process_started(pid)
    if now_started is None:
        return False
    return started is None or abs(now_started - started) < 1.0
