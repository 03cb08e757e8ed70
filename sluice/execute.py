"""Runs one component: reads its input artifacts, writes its output artifact.

Used by the local runner (in-process) and by Airflow tasks (in a child process, see
`run_in_child`), so both produce identical artifacts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Mapping, Sequence

from sluice.artifacts import Artifact, ArtifactError, a_type, read_artifact, write_artifact
from sluice.beam.jobs import complete_beam_args
from sluice.contract import ComponentSpec, ContractError
from sluice.errors import GateClosed, SluiceError
from sluice.pipeline import Component
from sluice.process import answer_parent, call_in_child


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one component run produced."""

    component: str
    uri: str
    seconds: float
    reused: bool


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
) -> Outcome:
    """Runs `component` and seals its artifact at `<run_dir>/<component.name>`.

    A finished artifact already there from the same inputs and parameters (an Airflow
    retry, say) is reused rather than recomputed or overwritten.

    Raises:
        ContractError: the inputs are not those the component's spec declares.
        GateClosed: the component found blocking problems; its artifact, which records
            them, is sealed first.
    """
    started = time.monotonic()
    spec = component.load_spec()
    inputs = read_inputs(component, spec, input_uris)
    uri = Path(run_dir) / component.name
    fingerprint = params_fingerprint(component, spec)
    if (uri / "artifact.json").exists():
        existing = read_artifact(uri)
        same_inputs = existing.inputs == {name: a.fingerprint for name, a in inputs.items()}
        if same_inputs and existing.properties.get("params_fingerprint") == fingerprint:
            if "gate_closed" in existing.properties:
                raise GateClosed(existing.properties["gate_closed"])
            return Outcome(component.name, str(uri), time.monotonic() - started, reused=True)
        raise ArtifactError(f"{uri} exists from other inputs or parameters; choose a new run id")

    gate: GateClosed | None = None
    params = spec.make_params(component.params, component.name)
    with write_artifact(uri, type=spec.output.type_name(), producer=spec.producer, inputs=inputs) as draft:
        try:
            spec.run(inputs=inputs, output=draft, params=params, beam_args=list(beam_args))
        except GateClosed as closed:
            # The findings behind a closed gate are the artifact: seal it, then stop the run.
            gate = closed
            draft.properties["gate_closed"] = str(closed)
        draft.properties["params_fingerprint"] = fingerprint
        draft.properties["beam_args"] = complete_beam_args(beam_args)
    if gate is not None:
        raise gate
    return Outcome(component.name, str(uri), time.monotonic() - started, reused=False)


def run_in_child(
    component: Component,
    run_dir: str,
    input_uris: Mapping[str, str],
    beam_args: Sequence[str] = (),
) -> Outcome:
    """Runs `execute` in a fresh Python process; its output streams through to the caller's.

    TensorFlow and TFT leave a process that crashes at interpreter exit after correct
    work, and training holds memory; a child process keeps both away from the caller (an
    Airflow task, say) and returns all its memory when it ends.

    Raises:
        ComponentFailed: the component raised (its message is kept) or the child died.
    """
    request = {
        "component": dataclasses.asdict(component),
        "run_dir": str(run_dir),
        "input_uris": dict(input_uris),
        "beam_args": list(beam_args),
    }
    reply = call_in_child("sluice.execute", request)
    if "error" in reply:
        raise ComponentFailed(f"component {component.name!r} failed: {reply['error']}")
    return Outcome(**reply)


class ComponentFailed(SluiceError):
    """A component raised, or its child process died."""


def _execute_request(request: dict) -> dict:
    outcome = execute(Component(**request["component"]), request["run_dir"], request["input_uris"], request["beam_args"])
    return dataclasses.asdict(outcome)


if __name__ == "__main__":
    answer_parent(_execute_request)
