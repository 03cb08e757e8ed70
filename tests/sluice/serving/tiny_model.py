"""A tiny real SavedModel in the exported layout: `serving_default` parses raw tf.Examples
and returns {"probability": ...}; `assets.extra/raw_features.json` lists its raw features.

Built in a second or two, so the server's tests need no pipeline run (the census parity
test uses the shared census run's push).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

ROW = {"age": 39, "hours": 40.0, "workclass": "Private"}


def expected_probability(row: dict) -> float:
    """What the tiny model answers, computed in Python."""
    logit = 0.05 * (row["age"] - 40) + 0.03 * (row["hours"] - 40) + (0.5 if row.get("workclass") == "Private" else 0.0)
    return 1 / (1 + math.exp(-logit))


def build_tiny_model(export_dir: Path) -> Path:
    import tensorflow as tf

    from sluice.serving.raw_features import describe, write_raw_features

    spec = {
        "age": tf.io.FixedLenFeature([], tf.int64),
        "hours": tf.io.FixedLenFeature([], tf.float32),
        "workclass": tf.io.VarLenFeature(tf.string),
    }

    class Tiny(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples):
            raw = tf.io.parse_example(examples, spec)
            workclass = tf.pad(tf.sparse.to_dense(raw["workclass"], default_value=""), [[0, 0], [0, 1]])[:, 0]
            logit = (
                0.05 * (tf.cast(raw["age"], tf.float32) - 40.0)
                + 0.03 * (raw["hours"] - 40.0)
                + 0.5 * tf.cast(tf.equal(workclass, "Private"), tf.float32)
            )
            return {"probability": tf.sigmoid(logit)}

    module = Tiny()
    tf.saved_model.save(module, str(export_dir), signatures={"serving_default": module.serve})
    write_raw_features(export_dir, describe(spec))
    return export_dir


def push(model_dir: Path, base_path: Path, version: int) -> Path:
    """Copies a model in as `version`, atomically (staged beside, then renamed), as the Pusher does."""
    staged = base_path / f".staging-{version}"
    shutil.copytree(model_dir, staged)
    final = base_path / str(version)
    staged.rename(final)
    return final
