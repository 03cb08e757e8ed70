"""Statistics throughput: Sluice's StatisticsGen against a pyarrow columnar summary.

Builds a 1,000,000-row census file by resampling adult.data (seeded), turns it into an
Examples artifact with Sluice's ExampleGen, then in one run measures:
- StatisticsGen (TFDV on Beam, DirectRunner in_memory) over those examples;
- a pyarrow summary of the same rows (count, mean, std, min, max, quantiles, top-k).
Each measurement runs in its own child process, so each peak RSS is its own; libraries
are imported before the clock starts, so rows/s measures the work, not interpreter start.

    .venv/bin/python bench/stats_throughput.py [--rows 1000000]

Goal: StatisticsGen rows/s >= 0.25 x pyarrow rows/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import build_census_csv, example_gen_artifact, finish_phase, run_phase  # noqa: E402


def phase_example_gen(csv: str, work: str) -> dict:
    import apache_beam  # noqa: F401 (imported before timing: rows/s measures work, not start-up)
    import tensorflow  # noqa: F401

    started = time.monotonic()
    uri = example_gen_artifact(Path(csv), Path(work))
    return {"seconds": time.monotonic() - started, "uri": uri}


def phase_statistics(examples_uri: str, work: str) -> dict:
    import apache_beam  # noqa: F401 (imported before timing: rows/s measures work, not start-up)
    import tensorflow_data_validation  # noqa: F401

    from pipelines.census.pipeline import CensusConfig, create_pipeline
    from sluice.artifacts import read_artifact
    from sluice.execute import execute

    component = create_pipeline(CensusConfig(home=work)).component("statistics_gen")
    outcome = execute(component, Path(work) / "statistics", {"examples": examples_uri})
    return {"seconds": outcome.seconds, "examples": read_artifact(outcome.uri).properties["splits"]["train"]["num_examples"]}


def phase_pyarrow(csv: str) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    from pipelines.census.features import CSV_COLUMNS

    started = time.monotonic()
    table = pcsv.read_csv(csv, read_options=pcsv.ReadOptions(column_names=list(CSV_COLUMNS)))
    summary = {}
    for name in table.column_names:
        column = table[name]
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            summary[name] = {
                "count": pc.count(column).as_py(),
                "mean": pc.mean(column).as_py(),
                "std": pc.stddev(column).as_py(),
                "min": pc.min(column).as_py(),
                "max": pc.max(column).as_py(),
                "quantiles": pc.quantile(column, q=[i / 10 for i in range(11)]).to_pylist(),
            }
        else:
            counts = pc.value_counts(column)
            top = sorted(counts.to_pylist(), key=lambda c: -c["counts"])[:20]
            summary[name] = {"count": pc.count(column).as_py(), "top": top}
    return {"seconds": time.monotonic() - started, "examples": table.num_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        name, *rest = args.phase
        phases = {"example_gen": phase_example_gen, "statistics": phase_statistics, "pyarrow": phase_pyarrow}
        finish_phase(phases[name](*rest))

    work = Path(tempfile.mkdtemp(prefix="stats_throughput-"))
    csv = work / "census.csv"
    build_census_csv(args.rows, csv)
    example_gen = run_phase(__file__, "example_gen", str(csv), str(work))
    statistics = run_phase(__file__, "statistics", example_gen["uri"], str(work))
    pyarrow_summary = run_phase(__file__, "pyarrow", str(csv))
    assert statistics["examples"] == pyarrow_summary["examples"] == args.rows

    def rate(result):
        return args.rows / result["seconds"]

    print(f"\n{args.rows:,} census rows (resampled adult.data), DirectRunner in_memory")
    print(f"{'':<32} {'seconds':>8} {'rows/s':>10} {'peak RSS MiB':>13}")
    for label, result in (("ExampleGen (CSV -> tf.Example)", example_gen), ("StatisticsGen (TFDV on Beam)", statistics), ("pyarrow summary of the CSV", pyarrow_summary)):
        print(f"{label:<32} {result['seconds']:8.2f} {rate(result):10,.0f} {result['peak_rss_mib']:13.0f}")
    print(f"ratio StatisticsGen / pyarrow rows per second = {rate(statistics) / rate(pyarrow_summary):.3f}   (goal >= 0.25)")


if __name__ == "__main__":
    main()
