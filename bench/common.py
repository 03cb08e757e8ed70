"""Shared by the benchmarks: resampled census files, and phases run in child processes."""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_census_csv(rows: int, path: Path, seed: int = 0) -> Path:
    """`rows` rows drawn with replacement from adult.data (seeded), in its own format."""
    import numpy as np

    lines = [line for line in gzip.open(ROOT / "pipelines" / "census" / "data" / "adult.data.gz", "rt").read().splitlines() if line.strip()]
    picks = np.random.default_rng(seed).integers(0, len(lines), rows)
    path.write_text("\n".join(lines[i] for i in picks) + "\n")
    return path


def run_phase(script: str, *args: str) -> dict:
    """Runs `script --phase ARGS...` in a child process; returns the JSON it prints last."""
    completed = subprocess.run([sys.executable, script, "--phase", *args], capture_output=True, text=True, cwd=ROOT)
    if completed.returncode != 0:
        raise RuntimeError(f"phase {args[0]} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its finished children so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def finish_phase(result: dict) -> None:
    """Prints a phase's result with its peak RSS, then leaves (TFT-safe).

    The peak is this process's or, if higher, that of its largest finished child (a Beam
    multi_processing worker).
    """
    from sluice.process import exit_now

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_mib"] = max(own, children) / 1024
    print(json.dumps(result), flush=True)
    exit_now(0)


def example_gen_artifact(csv: Path, work: Path) -> str:
    """An Examples artifact of `csv` (all rows in split "train"), made by Sluice's ExampleGen."""
    import dataclasses

    from pipelines.census.pipeline import CensusConfig, create_pipeline
    from sluice.execute import execute

    component = create_pipeline(CensusConfig(home=str(work))).component("example_gen")
    only_train = {**component.params, "sources": [{"pattern": str(csv), "splits": {"train": 100}}]}
    return execute(dataclasses.replace(component, params=only_train), work / "examples", {}).uri


_MEASURE = r"""
import json, resource, subprocess, sys, time
started = time.monotonic()
code = subprocess.run(sys.argv[1:]).returncode
usage = {"process_s": time.monotonic() - started, "peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
print("MEASURED " + json.dumps(usage), file=sys.stderr, flush=True)
sys.exit(code)
"""


def run_measured(command: list[str], cwd: Path, env: dict | None = None) -> dict:
    """Runs `command` as a whole process: {"stdout": its output, "usage": {"process_s", "peak_rss_mib"}}.

    A small wrapper process starts it, so the wall time counts interpreter start-up and
    imports, and the peak RSS is the command's own (its largest process)."""
    completed = subprocess.run([sys.executable, "-c", _MEASURE, *command], cwd=cwd, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{command[0]} failed with exit code {completed.returncode}:\n{completed.stderr[-3000:]}")
    line = next(line for line in reversed(completed.stderr.splitlines()) if line.startswith("MEASURED "))
    return {"stdout": completed.stdout, "usage": json.loads(line[len("MEASURED "):])}


def run_census(home: str, overrides: list[str], until: str | None = None, beam_args: list[str] = (), env: dict | None = None,
               imported_first: tuple[str, ...] = ()) -> dict:
    """The census pipeline (up to `until`) in a fresh process, measured as a whole.

    `imported_first`: modules imported before the pipeline's clock starts, as a script that
    imports its libraries at the top does.

    Returns {"run_dir", "seconds": {component: s}, "total" (the pipeline's seconds),
    "patches": {name: applied}, "process_s", "peak_rss_mib"}.
    """
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    command = [sys.executable, "-m", "bench.common", home, json.dumps(overrides), until or "", json.dumps(list(beam_args)),
               json.dumps(list(imported_first))]
    measured = run_measured(command, cwd=ROOT, env=env)
    return {**json.loads(measured["stdout"].strip().splitlines()[-1]), **measured["usage"]}


def _census_phase(home: str, overrides: str, until: str, beam_args: str, imported_first: str = "[]") -> None:
    import dataclasses
    import importlib
    import time

    for module in json.loads(imported_first):
        importlib.import_module(module)

    from pipelines.census.pipeline import CensusConfig, create_pipeline
    from sluice.beam import patches
    from sluice.config import apply_overrides
    from sluice.process import exit_now
    from sluice.runner import run_pipeline

    config = apply_overrides(CensusConfig(home=home), json.loads(overrides))
    pipeline = create_pipeline(config)
    if until:
        names = [component.name for component in pipeline.components]
        pipeline = dataclasses.replace(pipeline, components=pipeline.components[: names.index(until) + 1])
    started = time.monotonic()
    result = run_pipeline(pipeline, config.artifact_root, beam_args=json.loads(beam_args))
    total = time.monotonic() - started
    applied = {name: patches.active(name) for name in patches.PATCHES}
    print(json.dumps({"run_dir": result.run_dir, "seconds": {o.component: o.seconds for o in result.outcomes}, "total": total, "patches": applied}), flush=True)
    exit_now(0)


if __name__ == "__main__":
    _census_phase(*sys.argv[1:])
