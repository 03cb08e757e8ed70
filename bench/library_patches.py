"""The census pipeline with Sluice's library patches on and off: seconds, and the same artifacts.

Each run is a fresh child process with its own artifact home (no drift baseline, no
analyzer cache shared between runs); `SLUICE_LIBRARY_PATCHES=off` in the environment of
the "off" runs (with `--parts`, also `off:NAME` for each patch alone; with `--patch NAME`,
only `off:NAME`). With `--repeats N` the order alternates (on, off, then off, on, ...) and
medians are printed. Tuner off, a
short training: the Beam steps are what the patches touch. Then the artifacts of the
first "on" run are compared with the others' (`compare_artifacts`): every payload file
of ExampleGen, StatisticsGen, SchemaGen, the validators and Transform, byte for byte or,
where bytes vary from process to process, by content (tf.Examples as protos; Transform's
graph by the transformed records it wrote); the models by the evaluator's test metrics.

    .venv/bin/python bench/library_patches.py                 # full census data
    .venv/bin/python bench/library_patches.py --sample        # the test sample (seconds)
    .venv/bin/python bench/library_patches.py --repeats 3 --until transform --parts
    .venv/bin/python bench/library_patches.py --repeats 3 --until transform --patch pickle_compression
    .venv/bin/python bench/library_patches.py --direct_running_mode=multi_processing --direct_num_workers=2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

BUDGET = ("tuner.max_trials=0", "trainer.train_steps=100", "trainer.early_stopping_patience=0")
SAMPLE = (
    f"data.train_file={ROOT / 'tests' / 'data' / 'census' / 'adult_sample.data'}",
    f"data.test_file={ROOT / 'tests' / 'data' / 'census' / 'adult_sample.test'}",
    "min_accuracy=0",
)
# Components whose payload is compared; a model's bytes differ from process to process,
# so Tuner, Trainer and Pusher are judged by the evaluator's test metrics.
COMPARED = ("example_gen", "statistics_gen", "schema_gen", "example_validator", "transform", "evaluator", "skew_validator")
# Files whose bytes depend on the process that wrote them, compared through what they produce.
_PROCESS_SPECIFIC = ("transform_fn/",)
METRIC_TOLERANCE = 1e-6


def patches_env(switch: str) -> dict[str, str]:
    """This process's environment with patches `switch` ("on", "off" or "off:NAME,...")."""
    from sluice.beam.patches import SWITCH_ENV

    env = {key: value for key, value in os.environ.items() if key != SWITCH_ENV}
    if switch != "on":
        env[SWITCH_ENV] = switch
    return env


def run_census(switch: str, home: str, overrides: list[str], until: str | None, beam_args: list[str] = ()) -> dict:
    """`bench.common.run_census` with patches `switch` ("on", "off" or "off:NAME,...")."""
    return common.run_census(home, overrides, until, beam_args, patches_env(switch))


def _digests(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != "artifact.json"
    }


def compare_artifacts(run_a: str, run_b: str, components: list[str]) -> dict[str, str]:
    """Component -> "same (...)" or what differs, between two runs' artifacts.

    Payload files are compared byte for byte, with four exceptions, each compared by what
    it holds: TFRecords of tf.Examples record by record as protos (tfx-bsl's encoder
    writes a tf.Example's features in an order that changes from process to process),
    TFDV statistics with their features sorted (multi_processing merges them in the
    order the workers finish), text
    naming its own run directory with that name set aside, and a SavedModel
    (`_PROCESS_SPECIFIC`) by its outputs, the transformed records beside it. An
    evaluation is compared by its test metrics, within METRIC_TOLERANCE.
    """
    verdicts = {}
    for component in components:
        if component not in COMPARED:
            verdicts[component] = "not compared (a model's bytes): see the evaluator"
            continue
        a, b = Path(run_a) / component, Path(run_b) / component
        if component == "evaluator":
            verdicts[component] = _compare_metrics(a, b)
            continue
        digests_a, digests_b = _digests(a), _digests(b)
        notes: dict[str, int] = {}
        differing = []
        for name in sorted(set(digests_a) | set(digests_b)):
            if digests_a.get(name) == digests_b.get(name):
                continue
            how = _same_content(a, b, name, run_a, run_b) if name in digests_a and name in digests_b else None
            if how is None:
                differing.append(name)
            else:
                notes[how] = notes.get(how, 0) + 1
        if differing:
            verdicts[component] = f"DIFFERENT: {', '.join(differing[:5])}{' ...' if len(differing) > 5 else ''}"
        else:
            same_bytes = len(digests_a) - sum(notes.values())
            detail = "; ".join([f"{same_bytes} byte for byte", *(f"{count} {how}" for how, count in notes.items())])
            verdicts[component] = f"same ({len(digests_a)} files: {detail})"
    return verdicts


def _same_content(a: Path, b: Path, name: str, run_a: str, run_b: str) -> str | None:
    """How files `name` of artifacts `a` and `b`, of different bytes, hold the same; None if not."""
    from sluice.validation.statistics import STATS_FILE

    if name.startswith(_PROCESS_SPECIFIC):
        return "graph files judged by the transformed records"
    bytes_a, bytes_b = (a / name).read_bytes(), (b / name).read_bytes()
    if name.endswith(".tfrecord"):
        return "TFRecord files equal as tf.Examples" if _examples(bytes_a) == _examples(bytes_b) else None
    if name.endswith(STATS_FILE):
        return "statistics equal but for the order of features" if _statistics(bytes_a) == _statistics(bytes_b) else None
    try:
        text_a, text_b = bytes_a.decode(), bytes_b.decode()
    except UnicodeDecodeError:
        return None
    if text_a.replace(run_a, "<run>") == text_b.replace(run_b, "<run>"):
        return "text files equal but for their run directory"
    return None


def _statistics(data: bytes) -> bytes:
    from tensorflow_metadata.proto.v0 import statistics_pb2

    statistics = statistics_pb2.DatasetFeatureStatisticsList.FromString(data)
    for dataset in statistics.datasets:  # merged across workers in the order they finish
        features = sorted(dataset.features, key=lambda feature: feature.path.SerializeToString(deterministic=True))
        del dataset.features[:]
        dataset.features.extend(features)
    return statistics.SerializeToString(deterministic=True)


def _examples(data: bytes) -> list[bytes] | None:
    import io

    from tensorflow.core.example import example_pb2

    from sluice.beam.tfrecords import read_tfrecords

    try:
        return [example_pb2.Example.FromString(record).SerializeToString(deterministic=True) for record in read_tfrecords(io.BytesIO(data))]
    except Exception:  # not tf.Examples: only the bytes can say
        return None


def _compare_metrics(a: Path, b: Path) -> str:
    metrics = [json.loads((path / "artifact.json").read_text())["properties"]["metrics"] for path in (a, b)]
    numbers = {key: (value, metrics[1].get(key)) for key, value in metrics[0].items() if isinstance(value, (int, float))}
    off = {key: pair for key, pair in numbers.items() if not isinstance(pair[1], (int, float)) or abs(pair[0] - pair[1]) > METRIC_TOLERANCE}
    if off:
        return "DIFFERENT metrics: " + ", ".join(f"{key} {x} vs {y}" for key, (x, y) in off.items())
    return f"same (test metrics {', '.join(sorted(numbers))} within {METRIC_TOLERANCE})"


def main() -> None:
    from sluice.beam.patches import PATCHES
    from sluice.process import quiet_library_noise

    quiet_library_noise()

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Other arguments are Beam pipeline options.")
    parser.add_argument("--sample", action="store_true", help="the test sample (a few hundred rows) instead of the full census data")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each setting, alternating the order; medians are printed")
    parser.add_argument("--until", default=None, help="last component to run (default: the whole pipeline)")
    parser.add_argument("--parts", action="store_true", help="also one setting per patch with only that patch off")
    parser.add_argument("--patch", choices=sorted(PATCHES), help="only two settings: patches on, and only this one off")
    parser.add_argument("-o", dest="overrides", action="append", default=[], help="extra SECTION.FIELD=VALUE")
    args, beam_args = parser.parse_known_args()

    overrides = [*BUDGET, *(SAMPLE if args.sample else ()), *args.overrides]
    settings = ["on", "off", *(f"off:{name}" for name in PATCHES if args.parts)]
    if args.patch:
        settings = ["on", f"off:{args.patch}"]
    if "off:warm_workers" in settings and not any("multi_processing" in arg for arg in beam_args):
        settings.remove("off:warm_workers")  # it acts only under multi_processing
    work = Path(tempfile.mkdtemp(prefix="library_patches-"))
    runs: dict[str, list[dict]] = {setting: [] for setting in settings}
    for repeat in range(args.repeats):
        for setting in settings if repeat % 2 == 0 else reversed(settings):
            home = work / f"{setting.replace(':', '-')}-{repeat}"
            runs[setting].append(run_census(setting, str(home), overrides, args.until, beam_args))
            print(f"  run {repeat + 1}, patches {setting}: {runs[setting][-1]['total']:.1f} s", flush=True)

    components = list(runs["on"][0]["seconds"])
    median = {s: {c: statistics.median(r["seconds"][c] for r in results) for c in components} for s, results in runs.items()}
    totals = {s: statistics.median(r["total"] for r in results) for s, results in runs.items()}
    data = "test sample" if args.sample else "full census data"
    mode = " ".join(beam_args) or "DirectRunner in_memory"
    print(f"\nCensus pipeline, {data}, {' '.join(BUDGET)}, {mode}; median of {args.repeats} run(s) each")
    print("seconds per component with patches <setting>, and each setting's seconds / patches on")
    widths = {s: max(20, len(s) + 2) for s in settings}
    print(f"{'component':<18}" + "".join(f"{s:>{widths[s]}}" for s in settings))
    for component in [*components, "total"]:
        seconds = totals if component == "total" else {s: median[s][component] for s in settings}
        on = seconds["on"]
        cells = [f"{on:{widths['on']}.1f}"] + [f"{seconds[s]:.1f} ({seconds[s] / on if on else float('nan'):.2f}x)".rjust(widths[s]) for s in settings[1:]]
        print(f"{component:<18}" + "".join(cells))

    for setting in settings[1:]:
        print(f"\nArtifacts, patches on vs {setting}:")
        for component, verdict in compare_artifacts(runs["on"][0]["run_dir"], runs[setting][0]["run_dir"], components).items():
            print(f"  {component:<18} {verdict}")
    print(f"\n(artifacts kept under {work})")


if __name__ == "__main__":
    main()
