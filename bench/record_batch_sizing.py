"""What Beam pays to size one record batch on an edge: TFDV's coder, Sluice's, pickling.

Beam samples the size of the elements on every edge by encoding them. Side by side, in
one process, on a census batch of ROWS rows (each column a list per row, as StatisticsGen
and Transform read them): TFDV's registered coder (encodes the batch), Sluice's
`RecordBatchCoder` (`nbytes`), and Beam's fallback for an untyped (key, batch) edge
inside hot-key fan-out (pickles it), which `type_record_batch_edges` avoids.

    .venv/bin/python bench/record_batch_sizing.py [--rows 50000]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def census_batch(rows: int):
    """The first `rows` rows of adult.data (repeated if need be) as feature lists."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from pipelines.census.pipeline import CSV_FORMAT
    from sluice.data.feature_lists import as_feature_lists

    names = [name for name, _ in CSV_FORMAT["columns"]]
    raw = gzip.open(ROOT / "pipelines" / "census" / "data" / "adult.data.gz").read()
    table = pacsv.read_csv(pa.py_buffer(raw), read_options=pacsv.ReadOptions(column_names=names))
    while table.num_rows < rows:
        table = pa.concat_tables([table, table])
    return as_feature_lists(table.slice(0, rows))


def best_of(function, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()

    import apache_beam as beam
    from apache_beam.typehints import typehints
    from tensorflow_data_validation.types import _ArrowRecordBatchCoder

    from sluice.beam.patches.record_batch_coder import RecordBatchCoder

    batch = census_batch(args.rows)
    untyped = beam.coders.registry.get_coder(typehints.Any)
    sizes = {
        "TFDV's coder (encodes)": lambda: _ArrowRecordBatchCoder().estimate_size(batch),
        "Sluice's RecordBatchCoder (nbytes)": lambda: RecordBatchCoder().estimate_size(batch),
        "untyped (key, batch) edge (pickles)": lambda: untyped.estimate_size(("slice", batch)),
    }
    print(f"Sizing one record batch of {batch.num_rows:,} census rows ({batch.nbytes / 2**20:.1f} MiB), best of 5")
    baseline = None
    for label, size in sizes.items():
        seconds = best_of(size)
        baseline = baseline or seconds
        print(f"  {label:<38} {seconds * 1e3:9.3f} ms  {seconds / baseline:8.4f}x TFDV's")


if __name__ == "__main__":
    main()
