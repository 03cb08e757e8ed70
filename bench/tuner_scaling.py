"""The model search over many trials: the search process's memory, and trials per hour
with one worker and with two (keras-tuner's chief/worker mode on loopback).

Runs the census pipeline up to Transform once (full data), then the Tuner component
twice, in child processes, on the same TRIALS random-search trials (one seed, so the same
proposals): once with 1 worker, once with 2. A sampler reads the resident memory of the
search process (not of its trial processes) every 0.2 s.

    .venv/bin/python bench/tuner_scaling.py [--trials 20] [--trial-steps 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT  # noqa: E402

SEARCH = r"""
import json, sys
from pipelines.census.pipeline import CensusConfig, create_pipeline
from sluice.config import apply_overrides
from sluice.execute import execute
from sluice.process import exit_now
overrides, run_dir, transform = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
component = create_pipeline(apply_overrides(CensusConfig(), overrides)).component("tuner")
print(json.dumps({"uri": execute(component, run_dir, {"transform": transform}).uri}), flush=True)
exit_now(0)
"""

UP_TO_TRANSFORM = r"""
import json, sys
from pipelines.census.pipeline import CensusConfig, create_pipeline
from sluice.pipeline import Pipeline
from sluice.process import exit_now
from sluice.runner import run_pipeline
pipeline = create_pipeline(CensusConfig(home=sys.argv[1]))
first = Pipeline(pipeline.name, pipeline.components[: [c.name for c in pipeline.components].index("transform") + 1])
print(json.dumps({"uri": run_pipeline(first, CensusConfig(home=sys.argv[1]).artifact_root).uri("transform")}), flush=True)
exit_now(0)
"""


def run_child(code: str, *args: str, sample_memory: bool = False) -> tuple[dict, dict]:
    """Runs `code` in a child; returns (its last JSON line, its memory samples)."""
    import psutil

    process = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    samples: list[float] = []

    def sample() -> None:
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                samples.append(watched.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_memory:
        sampler.start()
    out, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"child failed with exit code {process.returncode}")
    if sample_memory:
        sampler.join()
    return json.loads(out.strip().splitlines()[-1]), {"samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--trial-steps", type=int, default=200)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tuner_scaling-"))
    transform = run_child(UP_TO_TRANSFORM, str(work))[0]["uri"]
    results = {}
    for workers in (1, 2):
        overrides = [f"tuner.max_trials={args.trials}", f"tuner.trial_steps={args.trial_steps}", f"tuner.workers={workers}"]
        reply, memory = run_child(SEARCH, json.dumps(overrides), str(work / f"workers-{workers}"), transform, sample_memory=True)
        record = json.loads(Path(reply["uri"], "artifact.json").read_text())["properties"]
        trials = json.loads(Path(reply["uri"], "trials.json").read_text())
        searched = max(t["ended_at"] for t in trials) - min(t["started_at"] for t in trials)
        results[workers] = {"record": record, "trials": trials, "searched": searched, "memory": memory["samples"]}

    print(f"\nTuner on census (full data): {args.trials} random-search trials, {args.trial_steps} steps per network trial")
    print(f"{'workers':>7} {'completed':>9} {'search s':>9} {'trials/hour':>12} {'search RSS MiB: first trial':>28} {'peak':>6} {'last':>6}")
    for workers, result in results.items():
        memory = result["memory"]
        first_quarter = memory[: max(1, len(memory) // 4)]
        print(
            f"{workers:>7} {result['record']['completed_trials']:>9} {result['searched']:>9.1f} "
            f"{3600 * len(result['trials']) / result['searched']:>12.0f} {max(first_quarter):>28.0f} {max(memory):>6.0f} {memory[-1]:>6.0f}"
        )
    speedup = results[1]["searched"] / results[2]["searched"]
    print(f"trials per hour, 2 workers / 1 worker = {speedup:.2f}")
    same = [t["hyperparameters"] for t in results[1]["trials"]] == [t["hyperparameters"] for t in results[2]["trials"]]
    print(f"same proposals with 1 and 2 workers: {same}")


if __name__ == "__main__":
    main()
