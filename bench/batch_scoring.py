"""Batch scoring rows/s: the `sluice batch-predict` Beam job beside a direct in-process loop.

Both score the same file (default: all of adult.test, 16,281 rows) with the same pushed
model, from raw CSV text to probabilities: the loop reads, types and encodes each row as
the job does (`sluice.serving.batch_inputs`) and calls the serving signature on batches of
the job's maximum batch size. The job's figure is the whole `score_files` call: building
the job, loading the model, the run on DirectRunner and moving its output into place.
The loop loads its model once, outside the timing (shown apart). Medians of `--repeats`
runs, the sides alternating, in one process.

    .venv/bin/python bench/batch_scoring.py                            # model: latest under $SLUICE_HOME/serving/census
    .venv/bin/python bench/batch_scoring.py --model sluice_home/serving/census/<version> --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = {
    "in_memory": ["--direct_running_mode=in_memory"],
    "multi_processing (2 workers)": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
}


def scoring_input(model_dir: str):
    from pipelines.census.pipeline import CSV_FORMAT, LABEL_KEY
    from sluice.data.rows import CsvFormat
    from sluice.serving.batch_inputs import ScoringInput
    from sluice.serving.raw_features import read_raw_features

    return ScoringInput(CsvFormat(**CSV_FORMAT), LABEL_KEY, read_raw_features(model_dir))


def beam_job(model_dir: str, csv_file: str, beam_args: list[str], work: Path) -> tuple[float, int]:
    """Seconds of one `score_files` call and the rows it scored."""
    from sluice.serving.batch_scoring import score_files

    started = time.perf_counter()
    done = score_files(model_dir, csv_file, str(work / f"out-{time.monotonic_ns()}"), scoring_input(model_dir), "csv", beam_args)
    return time.perf_counter() - started, done.rows_scored


def direct_loop(model, model_dir: str, csv_file: str) -> tuple[float, int]:
    """Seconds to read, encode and score every row in-process, and the rows scored."""
    import tensorflow as tf

    from sluice.modeling.export import RAW_SIGNATURE
    from sluice.serving.batch_inputs import Keyed, read_scoring_input
    from sluice.serving.batch_scoring import MAX_BATCH_SIZE

    signature = model.signatures[RAW_SIGNATURE]
    started = time.perf_counter()
    examples = [item.example for item in read_scoring_input(csv_file, scoring_input(model_dir)) if isinstance(item, Keyed)]
    scored = 0
    for start in range(0, len(examples), MAX_BATCH_SIZE):
        batch = examples[start : start + MAX_BATCH_SIZE]
        scored += len(signature(examples=tf.constant(batch))["probability"].numpy())
    return time.perf_counter() - started, scored


def latest_model() -> str:
    from pipelines.census.pipeline import CensusConfig
    from sluice.config import default_home
    from sluice.modeling.predict import latest_version

    return str(latest_version(Path(CensusConfig(home=default_home()).serving_root) / "census"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="A pushed model version directory (default: the latest census push).")
    parser.add_argument("--csv", default=str(ROOT / "pipelines" / "census" / "data" / "adult.test.gz"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from sluice.modeling.export import load_serving_model
    from sluice.process import exit_now, quiet_library_noise

    quiet_library_noise()
    model_dir = args.model or latest_model()
    started = time.perf_counter()
    model = load_serving_model(model_dir)
    load_s = time.perf_counter() - started
    seconds: dict[str, list[float]] = {"direct loop": [], **{name: [] for name in MODES}}
    rows = set()
    with tempfile.TemporaryDirectory() as work:
        for repeat in range(args.repeats):
            took, scored = direct_loop(model, model_dir, args.csv)
            seconds["direct loop"].append(took)
            rows.add(scored)
            for name, beam_args in MODES.items():
                took, scored = beam_job(model_dir, args.csv, beam_args, Path(work))
                seconds[name].append(took)
                rows.add(scored)
            print(f"repeat {repeat + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in seconds.items()), flush=True)
    assert len(rows) == 1, f"the sides scored different row counts: {rows}"
    [count] = rows
    direct = statistics.median(seconds["direct loop"])
    print(f"\nmodel {model_dir} (loaded in {load_s:.2f} s, outside the direct loop's time)")
    print(f"{count} rows of {args.csv}, medians of {args.repeats}")
    print(f"{'':<30} {'seconds':>8} {'rows/s':>9} {'/ direct':>9}")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:<30} {median:8.2f} {count / median:9.0f} {direct / median:9.2f}")
    exit_now(0)


if __name__ == "__main__":
    main()
