"""A fully cached rerun: Sluice beside TFX 1.16 (the peer), one after the other in one run.

Each framework runs the census chain once (tuner off, 500 steps, DirectRunner in_memory),
then the very same run again, `--repeats` times, with nothing changed: every step's
inputs, code and settings match a finished artifact, so the rerun only has to find them
(Sluice: its run history, `sluice.metadata`; TFX: ML Metadata with `enable_cache`).
Each rerun is timed as a whole process, from the command a user types to its exit.

    .venv/bin/python bench/cached_rerun.py                 # peer at $SLUICE_TFX_PEER or ~/tfx-peer
    .venv/bin/python bench/cached_rerun.py --repeats 5 --peer /path/to/tfx-peer
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.census_pipeline import PEER_SCRIPT, SAME_BUDGET  # noqa: E402
from bench.common import ROOT, run_measured  # noqa: E402

SLUICE = str(Path(sys.executable).parent / "sluice")


def sluice_run(home: Path) -> dict:
    overrides = [arg for setting in SAME_BUDGET for arg in ("-o", setting)]
    command = [SLUICE, "run", "census", "--home", str(home), *overrides, "--direct_running_mode=in_memory"]
    measured = run_measured(command, cwd=ROOT)
    return {"process_s": measured["usage"]["process_s"], "reused": measured["stdout"].count(" reused")}


def peer_run(peer: Path, work: Path) -> dict:
    command = [
        str(peer / "venv" / "bin" / "python"), str(PEER_SCRIPT), "--run-name", "cached", "--mode", "in_memory",
        "--base-dir", str(work), "--data-root", str(peer / "data" / "adult" / "train"), "--enable-cache",
    ]
    measured = run_measured(command, cwd=ROOT, env={**os.environ, "PEER": str(peer)})
    return {"process_s": measured["usage"]["process_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", default=os.environ.get("SLUICE_TFX_PEER", str(Path.home() / "tfx-peer")))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    peer = Path(args.peer)
    has_peer = (peer / "venv" / "bin" / "python").exists() and PEER_SCRIPT.exists()
    with tempfile.TemporaryDirectory(prefix="cached-rerun-") as scratch:
        home, tfx = Path(scratch) / "sluice", Path(scratch) / "tfx"
        first = sluice_run(home)
        print(f"Sluice first run: {first['process_s']:.1f} s", flush=True)
        reruns = [sluice_run(home) for _ in range(args.repeats)]
        print("Sluice reruns: " + ", ".join(f"{r['process_s']:.2f} s ({r['reused']} steps reused)" for r in reruns), flush=True)
        ours = statistics.median(r["process_s"] for r in reruns)
        if not has_peer:
            print(f"\nSluice cached rerun (median of {args.repeats}): {ours:.2f} s. No TFX peer: no ratio was measured "
                  "(set one up with ../shared/peer/README.md, then pass --peer).")
            return
        print(f"TFX first run: {peer_run(peer, tfx)['process_s']:.1f} s", flush=True)
        peer_reruns = [peer_run(peer, tfx) for _ in range(args.repeats)]
        print("TFX reruns: " + ", ".join(f"{r['process_s']:.2f} s" for r in peer_reruns), flush=True)
        theirs = statistics.median(r["process_s"] for r in peer_reruns)
    print(f"\nCached rerun, whole process, median of {args.repeats}: Sluice {ours:.2f} s, TFX 1.16 {theirs:.2f} s, "
          f"Sluice / TFX = {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
