"""Runs one component: reads its input artifacts, writes its output artifact.

Used by the local runner (in-process) and by Airflow tasks (in a child process, see
`run_in_child`), so both produce identical artifacts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from sluice.artifacts import Artifact, ArtifactError, a_type, read_artifact, remove_abandoned_drafts, write_artifact
from sluice.beam.jobs import complete_beam_args
from sluice.contract import ComponentSpec, ContractError
from sluice.errors import GateClosed, SluiceError
from sluice.metadata.cache_key import cache_key
from sluice.metadata.store import FAILED, REUSED, SUCCEEDED, MetadataStore
from sluice.pipeline import Component
from sluice.process import answer_parent, call_in_child


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one component run produced."""

    component: str
    uri: str
    seconds: float
    reused: bool
    reused_from: str | None = None  # the earlier run's artifact `uri` links to


def params_fingerprint(component: Component, spec: ComponentSpec) -> str:
    """What, besides its inputs, a finished artifact was made from: the run function and parameters."""
    text = json.dumps({"entry": spec.producer, "params": component.params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_inputs(component: Component, spec: ComponentSpec, input_uris: Mapping[str, str]) -> dict[str, Artifact]:
    """The input artifacts, each checked against the type its input declares.

    Raises:
        ContractError: an input is undeclared, missing, or of another type.
    """
    problem = spec.input_problem(input_uris)
    if problem:
        raise ContractError(f"component {component.name!r}: {problem}")
    inputs = {name: read_artifact(uri) for name, uri in input_uris.items()}
    for name, artifact in inputs.items():
        expected = spec.inputs[name].type_name()
        if artifact.type != expected:
            raise ContractError(
                f"component {component.name!r}: input {name!r} expects {a_type(expected)} artifact "
                f"but {artifact.uri} is {a_type(artifact.type)}"
            )
    return inputs


def execute(
    component: Component,
    run_dir: str | os.PathLike,
    input_uris: Mapping[str, str],
    beam_args: Sequence[str] = (),
    *,
    store: MetadataStore | None = None,
    cache: bool = True,
) -> Outcome:
    """Runs `component` and seals its artifact at `<run_dir>/<component.name>`.

    A finished artifact already there from the same inputs and parameters (an Airflow
    retry, say) is reused rather than recomputed or overwritten. With a `store`, the
    execution is recorded in the run history, and (unless `cache` is off) an artifact an
    earlier run sealed from the same inputs, code and settings is reused: the run
    directory gets a link to it. Drafts a killed attempt left in `run_dir` are removed first.

    Raises:
        ContractError: the inputs are not those the component's spec declares.
        GateClosed: the component found blocking problems; its artifact, which records
            them, is sealed first.
    """
    started = time.monotonic()
    job = _Job.prepare(component, run_dir, input_uris, store, cache)
    record = _Record.begin(job)
    try:
        reused = job.reuse(record, started)
        if reused is not None:
            return reused
        gate: GateClosed | None = None
        spec, uri = job.spec, job.uri
        params = spec.make_params(component.params, component.name)
        with write_artifact(uri, type=spec.output.type_name(), producer=spec.producer, inputs=job.inputs) as draft:
            try:
                spec.run(inputs=job.inputs, output=draft, params=params, beam_args=list(beam_args))
            except GateClosed as closed:
                # The findings behind a closed gate are the artifact: seal it, then stop the run.
                gate = closed
                draft.properties["gate_closed"] = str(closed)
            draft.properties["params_fingerprint"] = job.fingerprint
            draft.properties["beam_args"] = complete_beam_args(beam_args)
        record.sealed(read_artifact(uri), gate)
        if gate is not None:
            raise gate
    except BaseException as error:
        record.failed(error)
        raise
    return Outcome(component.name, str(uri), time.monotonic() - started, reused=False)


def reuse_finished(
    component: Component,
    run_dir: str | os.PathLike,
    input_uris: Mapping[str, str],
    *,
    store: MetadataStore | None = None,
    cache: bool = True,
) -> Outcome | None:
    """`execute`'s outcome when all it would do is reuse a finished artifact; None when
    the component has work to do.

    Finding and recording a reuse reads artifacts and the run history only, so a caller
    that would start a process for the work (`run_in_child`) need not start one for this.

    Raises:
        GateClosed, ArtifactError: as `execute` would for the artifact found.
    """
    started = time.monotonic()
    job = _Job.prepare(component, run_dir, input_uris, store, cache)
    if not job.finds_reusable():
        return None
    record = _Record.begin(job)
    try:
        return job.reuse(record, started)
    except BaseException as error:
        record.failed(error)
        raise


@dataclasses.dataclass
class _Job:
    """One execution's component, inputs and keys, worked out before anything runs."""

    component: Component
    spec: ComponentSpec
    inputs: dict[str, Artifact]
    run_dir: Path
    uri: Path
    fingerprint: str
    key: str
    files: dict[str, str]
    store: MetadataStore | None
    cache: bool

    @classmethod
    def prepare(cls, component, run_dir, input_uris, store, cache) -> _Job:
        spec = component.load_spec()
        inputs = read_inputs(component, spec, input_uris)
        run_dir = Path(run_dir)
        remove_abandoned_drafts(run_dir)
        fingerprint = params_fingerprint(component, spec)
        key, files = cache_key(spec.run.__module__, component.params, fingerprint, inputs)
        return cls(component, spec, inputs, run_dir, run_dir / component.name, fingerprint, key, files, store, cache)

    def finds_reusable(self) -> bool:
        """Whether `reuse` has an answer (an artifact, or an error about the one in the way)."""
        return (self.uri / "artifact.json").exists() or self.cached is not None

    @functools.cached_property
    def cached(self):
        """The run history's sealed artifact from the same key, asked once (None: none, or no cache)."""
        return self.store.cached_artifact(self.key) if self.store is not None and self.cache else None

    def reuse(self, record: _Record, started: float) -> Outcome | None:
        """Reuses the artifact already at `uri` from the same inputs and parameters (an
        Airflow retry, say) or, from the run history, one an earlier run sealed from the
        same key (linked); None when there is none."""
        name = self.component.name
        if (self.uri / "artifact.json").exists():
            existing = read_artifact(self.uri)
            same_inputs = existing.inputs == {input_name: a.fingerprint for input_name, a in self.inputs.items()}
            if same_inputs and existing.properties.get("params_fingerprint") == self.fingerprint:
                if "gate_closed" in existing.properties:
                    raise GateClosed(existing.properties["gate_closed"])
                record.reused(existing)
                return Outcome(name, str(self.uri), time.monotonic() - started, reused=True)
            raise ArtifactError(f"{self.uri} exists from other inputs or parameters; choose a new run id")
        cached = self.cached
        if cached is None:
            return None
        link_artifact(self.uri, cached.uri)
        record.reused(read_artifact(self.uri), cached.execution_id)
        _say(f"{name}: inputs, code and settings unchanged; reusing {cached.uri}")
        return Outcome(name, str(self.uri), time.monotonic() - started, reused=True, reused_from=cached.uri)


def link_artifact(uri: Path, target: str) -> None:
    """Makes `uri` a symbolic link to the sealed artifact `target`, in one step (a link
    made under a temporary name, renamed into place)."""
    temporary = uri.parent / f".{uri.name}.link-{os.getpid()}"
    uri.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(target, temporary, target_is_directory=True)
    if uri.exists() or uri.is_symlink():
        temporary.unlink()
        raise ArtifactError(f"{uri} appeared while it was being linked")
    os.rename(temporary, uri)


def _say(message: str) -> None:
    """A line for the run's log (or an Airflow task's log)."""
    print(f"[sluice] {message}", file=sys.stderr, flush=True)


class _Record:
    """One execution's entry in the run history; does nothing without a store."""

    def __init__(self, store: MetadataStore | None, execution_id: int | None, key: str):
        self.store, self.execution_id, self.key = store, execution_id, key
        self._heartbeat = store.beating(execution_id).__enter__() if store is not None else None

    @classmethod
    def begin(cls, job: _Job) -> _Record:
        store = job.store
        if store is None:
            return cls(None, None, job.key)
        store.reap_killed()
        execution_id = store.begin_execution(
            pipeline=job.run_dir.parent.name, run_id=job.run_dir.name, run_dir=str(job.run_dir), component=job.component.name,
            producer=job.spec.producer, cache_key=job.key, inputs=job.inputs, external_inputs=job.files,
        )
        return cls(store, execution_id, job.key)

    def reused(self, artifact: Artifact, from_execution: int | None = None) -> None:
        if self.store is not None:
            from_execution = from_execution or self.store.execution_that_wrote(artifact.uri)
            self._end(REUSED, output=artifact, reused_from=from_execution)

    def sealed(self, artifact: Artifact, gate: GateClosed | None) -> None:
        if self.store is not None:
            self._end(FAILED if gate else SUCCEEDED, output=artifact, error=f"GateClosed: {gate}" if gate else None)

    def failed(self, error: BaseException) -> None:
        if self.store is not None and self._heartbeat is not None:
            self._end(FAILED, error=f"{type(error).__name__}: {error}")

    def _end(self, status: str, **fields) -> None:
        self._heartbeat.__exit__(None, None, None)
        self._heartbeat = None
        self.store.finish_execution(self.execution_id, status, **fields)


def run_in_child(
    component: Component,
    run_dir: str,
    input_uris: Mapping[str, str],
    beam_args: Sequence[str] = (),
    *,
    store_path: str | None = None,
    cache: bool = True,
) -> Outcome:
    """Runs `execute` in a fresh Python process; its output streams through to the caller's.

    TensorFlow and TFT leave a process that crashes at interpreter exit after correct
    work, and training holds memory; a child process keeps both away from the caller (an
    Airflow task, say) and returns all its memory when it ends. A finished artifact to
    reuse is found and recorded here, without a child (`reuse_finished`), so a rerun with
    nothing changed starts no process and imports no TensorFlow.

    Raises:
        ComponentFailed: the component raised (its message is kept) or the child died.
    """
    store = MetadataStore(store_path) if store_path else None
    try:
        reused = reuse_finished(component, run_dir, input_uris, store=store, cache=cache)
    except SluiceError as error:
        raise ComponentFailed(f"component {component.name!r} failed: {type(error).__name__}: {error}") from error
    if reused is not None:
        return reused
    request = {
        "component": dataclasses.asdict(component),
        "run_dir": str(run_dir),
        "input_uris": dict(input_uris),
        "beam_args": list(beam_args),
        "store_path": store_path,
        "cache": cache,
    }
    reply = call_in_child("sluice.execute", request)
    if "error" in reply:
        raise ComponentFailed(f"component {component.name!r} failed: {reply['error']}")
    return Outcome(**reply)


class ComponentFailed(SluiceError):
    """A component raised, or its child process died."""


def _execute_request(request: dict) -> dict:
    store = MetadataStore(request["store_path"]) if request.get("store_path") else None
    outcome = execute(
        Component(**request["component"]), request["run_dir"], request["input_uris"], request["beam_args"],
        store=store, cache=request.get("cache", True),
    )
    return dataclasses.asdict(outcome)


if __name__ == "__main__":
    answer_parent(_execute_request)
