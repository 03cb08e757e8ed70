"""Transform at scale: 100k and 1M resampled census rows, in_memory against multi_processing.

For each size, Sluice's ExampleGen makes the examples (not timed here), then each of these
runs in its own child process (so each peak RSS is its own):
- Sluice's Transform, DirectRunner in_memory;
- Sluice's Transform, DirectRunner multi_processing with 2 workers;
- raw tf.Transform doing the same work (bench/transform_overhead.py), in_memory.
Post-transform statistics are off, so all three do the same work: analyze the census
preprocessing_fn over the rows, transform them, write graph and TFRecords.

    .venv/bin/python bench/transform_scale.py [--sizes 100000 1000000]

Goals: multi_processing(2) >= 1.6 x in_memory rows/s at 1M rows; peak RSS at 1M rows
<= 1.5 x that at 100k rows (in_memory); Sluice / raw TFT time <= 1.10.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, build_census_csv, cpu_seconds, example_gen_artifact, finish_phase, run_phase  # noqa: E402

MODES = {
    "in_memory": ["--direct_running_mode=in_memory"],
    "multi_processing_2": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
}


def _schema_artifact(work: Path) -> str:
    from components.schema_gen import Schema
    from sluice.artifacts import write_artifact

    uri = work / "schema_gen"
    reviewed = ROOT / "pipelines" / "census" / "schema.pbtxt"
    if not uri.exists():
        with write_artifact(uri, type="Schema", producer="bench") as draft:
            Path(draft.file("schema.pbtxt")).write_text(reviewed.read_text())
            Schema(source="reviewed", reviewed_schema=str(reviewed)).write(draft)
    return str(uri)


def phase_examples(csv: str, work: str) -> dict:
    uri = example_gen_artifact(Path(csv), Path(work))
    return {"uri": uri, "schema": _schema_artifact(Path(work))}


def phase_sluice(examples: str, schema: str, work: str, mode: str) -> dict:
    import apache_beam  # noqa: F401 (imported before timing: rows/s measures work, not start-up)
    import tensorflow_transform  # noqa: F401

    from pipelines.census.pipeline import CensusConfig, create_pipeline
    from sluice.execute import execute

    transform = create_pipeline(CensusConfig(home=work)).component("transform")
    same_work = dataclasses.replace(transform, params={**transform.params, "post_transform_statistics": False})
    cpu_before = cpu_seconds()
    outcome = execute(same_work, Path(work) / f"sluice-{mode}", {"examples": examples, "schema": schema}, MODES[mode])
    return {"seconds": outcome.seconds, "cpu_seconds": cpu_seconds() - cpu_before}


def phase_raw(examples: str, schema: str, work: str) -> dict:
    import apache_beam  # noqa: F401
    import tensorflow_transform  # noqa: F401

    from bench.transform_overhead import raw_tft_transform

    started, cpu_before = time.monotonic(), cpu_seconds()
    raw_tft_transform(examples, f"{schema}/schema.pbtxt", str(Path(work) / "raw"), splits=("train",))
    return {"seconds": time.monotonic() - started, "cpu_seconds": cpu_seconds() - cpu_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        finish_phase({"examples": phase_examples, "sluice": phase_sluice, "raw": phase_raw}[name](*rest))

    results = {}
    for rows in args.sizes:
        work = Path(tempfile.mkdtemp(prefix=f"transform_scale-{rows}-"))
        csv = build_census_csv(rows, work / "census.csv")
        made = run_phase(__file__, "examples", str(csv), str(work))
        results[rows] = {
            "sluice in_memory": run_phase(__file__, "sluice", made["uri"], made["schema"], str(work), "in_memory"),
            "sluice multi_processing(2)": run_phase(__file__, "sluice", made["uri"], made["schema"], str(work), "multi_processing_2"),
            "raw TFT in_memory": run_phase(__file__, "raw", made["uri"], made["schema"], str(work)),
        }

    print("\nTransform of resampled census rows (analyze + transform + write): seconds, rows per second, peak RSS,")
    print("and cores busy on average (CPU seconds of the process and its workers / seconds)")
    for rows, runs in results.items():
        for label, result in runs.items():
            cores = result["cpu_seconds"] / result["seconds"]
            print(f"  {rows:>9,} {label:<28} {result['seconds']:8.1f} s {rows / result['seconds']:10,.0f} rows/s {result['peak_rss_mib']:7.0f} MiB {cores:5.2f} cores")
    largest, smallest = max(results), min(results)
    big = results[largest]
    speedup = big["sluice in_memory"]["seconds"] / big["sluice multi_processing(2)"]["seconds"]
    print(f"multi_processing(2) / in_memory rows/s at {largest:,} rows = {speedup:.2f}   (goal >= 1.6)")
    if largest != smallest:
        growth = big["sluice in_memory"]["peak_rss_mib"] / results[smallest]["sluice in_memory"]["peak_rss_mib"]
        print(f"peak RSS {largest:,} / {smallest:,} rows (in_memory) = {growth:.2f}   (goal <= 1.5)")
    for rows, runs in results.items():
        ratio = runs["sluice in_memory"]["seconds"] / runs["raw TFT in_memory"]["seconds"]
        print(f"Sluice / raw TFT time at {rows:,} rows = {ratio:.3f}   (goal <= 1.10)")


if __name__ == "__main__":
    main()
