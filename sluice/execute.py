"""Runs one component: reads its input artifacts, writes its output artifact.

Used by the local runner (in-process) and by Airflow tasks (in a child process, see
`run_in_child`), so both produce identical artifacts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from sluice.artifacts import ArtifactError, read_artifact, write_artifact
from sluice.beam_jobs import complete_beam_args
from sluice.pipeline import Component, load_object


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one component run produced."""

    component: str
    uri: str
    seconds: float
    reused: bool


def params_fingerprint(component: Component) -> str:
    text = json.dumps({"entry": component.entry, "params": component.params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def execute(
    component: Component,
    run_dir: str | os.PathLike,
    input_uris: Mapping[str, str],
    beam_args: Sequence[str] = (),
) -> Outcome:
    """Runs `component` and seals its artifact at `<run_dir>/<component.name>`.

    A finished artifact already there from the same inputs and parameters (an Airflow
    retry, say) is reused rather than recomputed or overwritten.
    """
    started = time.monotonic()
    inputs = {name: read_artifact(uri) for name, uri in input_uris.items()}
    uri = Path(run_dir) / component.name
    fingerprint = params_fingerprint(component)
    if (uri / "artifact.json").exists():
        existing = read_artifact(uri)
        same_inputs = existing.inputs == {name: a.fingerprint for name, a in inputs.items()}
        if same_inputs and existing.properties.get("params_fingerprint") == fingerprint:
            return Outcome(component.name, str(uri), time.monotonic() - started, reused=True)
        raise ArtifactError(f"{uri} exists from other inputs or parameters; choose a new run id")

    module_name, _, function_name = component.entry.partition(":")
    run = load_object(component.entry)
    params_type = load_object(f"{module_name}:Params")
    params = params_type(**component.params)
    with write_artifact(
        uri,
        type=component.artifact_type or component.name,
        producer=component.entry,
        inputs=inputs,
    ) as draft:
        run(inputs=inputs, output=draft, params=params, beam_args=list(beam_args))
        draft.properties["params_fingerprint"] = fingerprint
        draft.properties["beam_args"] = complete_beam_args(beam_args)
    return Outcome(component.name, str(uri), time.monotonic() - started, reused=False)


def run_in_child(
    component: Component,
    run_dir: str,
    input_uris: Mapping[str, str],
    beam_args: Sequence[str] = (),
) -> Outcome:
    """Runs `execute` in a fresh Python process.

    TensorFlow and TFT leave a process that crashes at interpreter exit after correct
    work, and trials hold memory; a child process keeps both away from the caller (an
    Airflow task, a long search) and returns all its memory when it ends.
    """
    request = json.dumps(
        {
            "component": json.loads(component.to_json()),
            "run_dir": str(run_dir),
            "input_uris": dict(input_uris),
            "beam_args": list(beam_args),
        }
    )
    completed = subprocess.run(
        [sys.executable, "-m", "sluice.execute"],
        input=request,
        text=True,
        stdout=subprocess.PIPE,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    reply = json.loads(lines[-1]) if lines else {}
    if completed.returncode != 0 or "error" in reply or not reply:
        detail = reply.get("error", f"exit code {completed.returncode}, no reply")
        raise ComponentFailed(f"component {component.name!r} failed: {detail}")
    return Outcome(**reply)


class ComponentFailed(RuntimeError):
    """A component raised, or its child process died."""


def _main() -> None:
    from sluice.process import exit_now

    request = json.loads(sys.stdin.read())
    try:
        outcome = execute(
            Component(**request["component"]),
            request["run_dir"],
            request["input_uris"],
            request["beam_args"],
        )
    except Exception as error:
        import traceback

        traceback.print_exc()
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        exit_now(1)
    print(json.dumps(dataclasses.asdict(outcome)))
    exit_now(0)


if __name__ == "__main__":
    _main()
