"""Tracing the census transform layer, with and without AutoGraph's rule for TF Transform.

A served model, an export and a trial each trace TF Transform's layer into a function over
raw tf.Examples, once per process. Without the `autograph_rules` patch's rule for
`tensorflow_transform`, AutoGraph rewrites TF Transform's loading functions on the way.
One script run: the census sample up to Transform once, then, in fresh processes taking
turns, the first call of that function with the patch on and with it switched off
(`SLUICE_LIBRARY_PATCHES=off:autograph_rules`). Medians of `--repeats`.

    .venv/bin/python bench/transform_layer_trace.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.library_patches import BUDGET, SAMPLE, patches_env, run_census  # noqa: E402

SWITCHES = {"on": "on", "off": "off:autograph_rules"}


def transform_test_examples(transform_dir: str, examples_dir: str) -> tuple[float, dict]:
    """(seconds of the first call, the transformed features) of the transform layer traced
    into a function over raw tf.Examples, as a served model traces it, on 20 of `examples_dir`'s."""
    import tensorflow as tf
    import tensorflow_transform as tft

    output = tft.TFTransformOutput(transform_dir)
    holder = tf.Module()
    holder.layer = output.transform_features_layer()
    spec = output.raw_feature_spec()
    transform = tf.function(lambda examples: holder.layer(tf.io.parse_example(examples, spec)), input_signature=[tf.TensorSpec([None], tf.string)])
    files = tf.io.gfile.glob(os.path.join(examples_dir, "data-*.tfrecord"))
    examples = tf.constant([record.numpy() for record in tf.data.TFRecordDataset(files).take(20)])
    started = time.perf_counter()
    transformed = transform(examples)
    seconds = time.perf_counter() - started
    dense = lambda t: tf.sparse.to_dense(t) if isinstance(t, tf.SparseTensor) else t  # noqa: E731
    return seconds, {name: dense(value).numpy().tolist() for name, value in sorted(transformed.items())}


def _trace_phase(run_dir: str) -> None:
    from sluice.beam.patches import install_model_patches
    from sluice.process import exit_now

    install_model_patches()  # as an export does; a no-op when switched off
    seconds, _ = transform_test_examples(os.path.join(run_dir, "transform"), os.path.join(run_dir, "example_gen", "test"))
    print(json.dumps({"trace_s": seconds}), flush=True)
    exit_now(0)


def _trace(run_dir: str, switch: str) -> float:
    env = {**patches_env(switch), "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([sys.executable, __file__, "--phase", run_dir], capture_output=True, text=True, env=env, cwd=ROOT)
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-3000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])["trace_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        _trace_phase(args.phase)
    with tempfile.TemporaryDirectory(prefix="transform_trace-") as home:
        run_dir = run_census("on", home, [*BUDGET, *SAMPLE], "transform")["run_dir"]
        seconds = {side: [] for side in SWITCHES}
        for repeat in range(args.repeats):
            for side in (("on", "off") if repeat % 2 == 0 else ("off", "on")):
                seconds[side].append(_trace(run_dir, SWITCHES[side]))
                print(f"  run {repeat + 1}, rules {side}: {seconds[side][-1]:.2f} s", flush=True)
    on, off = (statistics.median(seconds[side]) for side in ("on", "off"))
    print(f"\nFirst trace of the census transform layer, medians of {args.repeats}: "
          f"with the rule {on:.2f} s, TensorFlow as shipped {off:.2f} s; with / without = {on / off:.2f}")


if __name__ == "__main__":
    main()
