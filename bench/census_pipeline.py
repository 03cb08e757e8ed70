"""Census end to end, Sluice beside TFX 1.16 (the peer), one after the other in one run.

Both run the same chain on the same machine with the same budget: DirectRunner in_memory,
no tuner, 500 training steps of a small Wide & Deep model at batch 64. Each side runs in
a fresh process, in alternating order over `--repeats` pairs, and the table shows the
medians: seconds per component, each side's pipeline and whole-process wall time, peak
RSS, and Sluice / TFX. Sluice does a little more work than the peer: it also reads,
validates and transforms adult.test (16,281 rows) and scores the model on it. The
per-component clocks start, on both sides, after the same libraries are imported (the
peer's script imports them at its top); the headline ratio is of whole processes.

The peer lives in its own Python 3.10 venv (../shared/peer/README.md sets it up); without
one this prints Sluice's figures and says that no ratio was measured.

    .venv/bin/python bench/census_pipeline.py                 # peer at $SLUICE_TFX_PEER or ~/tfx-peer
    .venv/bin/python bench/census_pipeline.py --repeats 1 --peer /path/to/tfx-peer
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run_census, run_measured  # noqa: E402

# The peer trains a small Wide & Deep network; census's default search is over forests, so
# the family is named (with no search, the Trainer takes the first family's defaults). The
# peer's chain has no TFLite export, so Sluice's CompactExport is off.
SAME_BUDGET = [
    'tuner.families=["wide_deep"]', "tuner.max_trials=0",
    "trainer.train_steps=500", "trainer.batch_size=64", "trainer.early_stopping_patience=0",
    "compact_export.enabled=false",
]
PEER_FAMILY = "wide_deep"
PEER_SCRIPT = ROOT.parent / "shared" / "peer" / "tfx_adult_pipeline.py"
# TFX's component ids -> Sluice's component names, in pipeline order.
COMPONENTS = {
    "CsvExampleGen": "example_gen",
    "StatisticsGen": "statistics_gen",
    "SchemaGen": "schema_gen",
    "ExampleValidator": "example_validator",
    "Transform": "transform",
    "Trainer": "trainer",
    "Evaluator": "evaluator",
    "Pusher": "pusher",
}
GOAL_TOTAL, GOAL_COMPONENT = 0.25, 0.35
# The peer's script imports TensorFlow, TFT, TFX and tfxio at its top; when its pipeline
# clock starts, TFX has also loaded Beam, TFDV, TFMA and Keras (about 9.5 s here). Sluice's
# run imports those of them it uses before its own clock, so neither side's first
# components carry the libraries' import. The whole-process times (the headline ratio)
# include everything.
IMPORTED_FIRST = ("tensorflow", "tensorflow_transform", "apache_beam", "tfx_bsl.public.tfxio", "tensorflow_data_validation", "keras")


def run_sluice(work: Path) -> dict:
    """One census run in a fresh process: {"components": {name: s}, "pipeline_s", "process_s", "peak_rss_mib"}."""
    run = run_census(str(work), SAME_BUDGET, imported_first=IMPORTED_FIRST)
    from sluice.artifacts import read_artifact

    family = read_artifact(Path(run["run_dir"]) / "trainer").properties["hyperparameters"]["family"]
    if family != PEER_FAMILY:
        raise RuntimeError(f"Sluice trained {family}, the peer {PEER_FAMILY}: not the same work")
    return {"components": run["seconds"], "pipeline_s": run["total"], "process_s": run["process_s"],
            "outside_s": run["process_s"] - run["total"], "peak_rss_mib": run["peak_rss_mib"]}


def run_peer(peer: Path, work: Path, name: str) -> dict:
    """One TFX run of the same chain, as ../shared/peer/README.md runs it."""
    command = [
        str(peer / "venv" / "bin" / "python"), str(PEER_SCRIPT), "--run-name", name, "--mode", "in_memory",
        "--base-dir", str(work), "--data-root", str(peer / "data" / "adult" / "train"),
    ]
    measured = run_measured(command, cwd=ROOT, env={**os.environ, "PEER": str(peer)})
    line = next(line for line in reversed(measured["stdout"].splitlines()) if line.startswith("TIMING_JSON "))
    timing = json.loads(line[len("TIMING_JSON "):])
    if timing["status"] != "ok":
        raise RuntimeError(f"the TFX peer failed: {timing['error']}")
    components = {COMPONENTS[name]: seconds for name, seconds in timing["component_wall_s_from_logs"] if name in COMPONENTS}
    usage = measured["usage"]
    return {"components": components, "pipeline_s": timing["pipeline_wall_s"], "outside_s": usage["process_s"] - timing["pipeline_wall_s"], **usage}


def _median(runs: list[dict], *keys: str) -> float | None:
    values = []
    for run in runs:
        value = run
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            values.append(value)
    return statistics.median(values) if values else None


def _cell(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def report(sluice_runs: list[dict], peer_runs: list[dict]) -> None:
    print(f"\nCensus pipeline, {' '.join(SAME_BUDGET)}, DirectRunner in_memory, both sides {PEER_FAMILY}; medians of {len(sluice_runs)} run(s) each")
    print(f"(each side's pipeline clock starts after {', '.join(IMPORTED_FIRST)} are imported; "
          "'outside the clock' is the rest of the process: start-up, those imports, exit)")
    print(f"{'':<22} {'Sluice':>9} {'TFX 1.16':>9} {'ratio':>7}")
    # Every Sluice component in pipeline order; tuner and skew_validator have no TFX counterpart here.
    names = list(sluice_runs[0]["components"]) if sluice_runs else list(COMPONENTS.values())
    rows = [(name, ("components", name)) for name in names]
    rows += [("pipeline (s)", ("pipeline_s",)), ("outside the clock (s)", ("outside_s",)), ("process (s)", ("process_s",)),
             ("peak RSS (MiB)", ("peak_rss_mib",))]
    for label, keys in rows:
        ours, theirs = _median(sluice_runs, *keys), _median(peer_runs, *keys)
        ratio = f"{ours / theirs:7.2f}" if ours is not None and theirs else ""
        print(f"{label:<22} {_cell(ours):>9} {_cell(theirs):>9} {ratio}")
    if not peer_runs:
        print("\nNo TFX peer: no ratio was measured (set one up with ../shared/peer/README.md, then pass --peer).")
        return
    total = _median(sluice_runs, "process_s") / _median(peer_runs, "process_s")
    slowest = max(
        (_median(sluice_runs, "components", name) / theirs, name)
        for name in COMPONENTS.values()
        if (theirs := _median(peer_runs, "components", name)) and theirs >= 1.0
    )
    pairs = ", ".join(f"{ours['process_s'] / theirs['process_s']:.2f}" for ours, theirs in zip(sluice_runs, peer_runs))
    print(f"\nWhole process, Sluice / TFX: {total:.2f} (goal <= {GOAL_TOTAL}; pair by pair {pairs}); "
          f"highest component ratio: {slowest[1]} {slowest[0]:.2f} (goal <= {GOAL_COMPONENT}, components of 1 s or more)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_peer = os.environ.get("SLUICE_TFX_PEER", str(Path.home() / "tfx-peer"))
    parser.add_argument("--peer", default=default_peer, help="the TFX peer's directory (its venv/ and data/)")
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs; medians are shown")
    args = parser.parse_args()
    peer = Path(args.peer)
    has_peer = (peer / "venv" / "bin" / "python").exists() and PEER_SCRIPT.exists()
    sluice_runs, peer_runs = [], []
    with tempfile.TemporaryDirectory(prefix="census_bench-") as scratch:
        for repeat in range(args.repeats):
            order = ["sluice", "tfx"] if repeat % 2 == 0 else ["tfx", "sluice"]
            for side in order:
                if side == "sluice":
                    sluice_runs.append(run_sluice(Path(scratch) / f"sluice-{repeat}"))
                    print(f"  run {repeat + 1}, Sluice: {sluice_runs[-1]['process_s']:.1f} s", flush=True)
                elif has_peer:
                    peer_runs.append(run_peer(peer, Path(scratch) / "tfx", f"r{repeat}"))
                    print(f"  run {repeat + 1}, TFX 1.16: {peer_runs[-1]['process_s']:.1f} s", flush=True)
    report(sluice_runs, peer_runs)


if __name__ == "__main__":
    main()
