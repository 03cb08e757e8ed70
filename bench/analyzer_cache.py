"""Transform's analyzer cache: a rerun after one span is added, with and without the cache.

Spans are resampled census files (one file = one span). The first run analyzes SPANS
spans; the rerun sees them plus one more. Each Transform runs in its own child process,
DirectRunner in_memory, post-transform statistics off:
- first run, cache off, and first run, cache on (its cost when there is nothing to reuse);
- rerun, cache on (reuses the first run's spans, analyzes the new one);
- rerun, cache off (analyzes every span).
Every run still transforms and writes every row of the split.

    .venv/bin/python bench/analyzer_cache.py [--spans 4] [--rows-per-span 100000]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import build_census_csv, finish_phase, run_phase  # noqa: E402
from bench.transform_scale import phase_examples  # noqa: E402


def phase_transform(examples: str, schema: str, run_dir: str, cache: str) -> dict:
    import apache_beam  # noqa: F401 (imported before timing: the figure is the work, not start-up)
    import tensorflow_transform  # noqa: F401

    from pipelines.census.pipeline import CensusConfig, create_pipeline
    from sluice.artifacts import read_artifact
    from sluice.config import apply_overrides
    from sluice.execute import execute

    config = apply_overrides(CensusConfig(), [f"transform.analyzer_cache={cache}"])
    transform = create_pipeline(config).component("transform")
    same_work = dataclasses.replace(transform, params={**transform.params, "post_transform_statistics": False})
    outcome = execute(same_work, run_dir, {"examples": examples, "schema": schema})
    return {"seconds": outcome.seconds, "cache": read_artifact(outcome.uri).properties["analyzer_cache"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=4, help="spans of the first run")
    parser.add_argument("--rows-per-span", type=int, default=100_000)
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        finish_phase({"examples": phase_examples, "transform": phase_transform}[name](*rest))

    work = Path(tempfile.mkdtemp(prefix="analyzer_cache-"))
    (work / "spans").mkdir()
    spans_glob = str(work / "spans" / "span-*.csv")
    for index in range(args.spans):
        build_census_csv(args.rows_per_span, work / "spans" / f"span-{index:03d}.csv", seed=index)
    first = run_phase(__file__, "examples", spans_glob, str(work / "first"))
    build_census_csv(args.rows_per_span, work / "spans" / f"span-{args.spans:03d}.csv", seed=args.spans)
    every = run_phase(__file__, "examples", spans_glob, str(work / "rerun"))

    def transform(made: dict, pipeline_dir: str, run: str, cache: bool) -> dict:
        run_dir = str(work / pipeline_dir / run)
        return run_phase(__file__, "transform", made["uri"], made["schema"], run_dir, str(cache).lower())

    results = {
        "first run, cache off": transform(first, "without_cache", "first", False),
        "first run, cache on": transform(first, "with_cache", "first", True),
        "rerun +1 span, cache on": transform(every, "with_cache", "rerun", True),
        "rerun +1 span, cache off": transform(every, "without_cache", "rerun", False),
    }
    first_rows, every_rows = args.spans * args.rows_per_span, (args.spans + 1) * args.rows_per_span
    print(f"\nTransform with TFT's analyzer cache: {args.spans} spans, then {args.spans + 1}, {args.rows_per_span:,} rows each")
    for label, result in results.items():
        cache = result["cache"] or {}
        analyzed = f"analyzed {len(cache['analyzed_spans'])} span(s), reused {len(cache['reused_spans'])}" if cache else "one pass over the split"
        rows = every_rows if label.startswith("rerun") else first_rows
        print(f"  {label:<26} {result['seconds']:7.1f} s  {rows:>9,} rows  {analyzed}  peak {result['peak_rss_mib']:.0f} MiB")
    rerun_ratio = results["rerun +1 span, cache off"]["seconds"] / results["rerun +1 span, cache on"]["seconds"]
    first_ratio = results["first run, cache on"]["seconds"] / results["first run, cache off"]["seconds"]
    print(f"rerun speed-up from the cache (cache off / cache on) = {rerun_ratio:.2f}")
    print(f"first-run cost of keeping the cache (cache on / cache off) = {first_ratio:.2f}")


if __name__ == "__main__":
    main()
