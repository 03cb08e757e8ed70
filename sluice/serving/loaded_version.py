"""One model version in memory: its SavedModel's signature, raw features, metadata and warm-up.

A version directory is TF Serving's: `<base_path>/<version>/saved_model.pb` and friends,
with Sluice's `assets.extra/raw_features.json` (required: it says what a request row holds)
and, from the Pusher, `manifest.json` (read when present, never required).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from sluice.serving.example_encoder import ExampleEncoder
from sluice.serving.raw_features import RawFeature, read_raw_features
from sluice.serving.typed_rows import InstancesDecoder

SIGNATURE = "serving_default"
INPUT = "examples"
OUTPUT = "probability"  # a binary model's; a multiclass one answers "probabilities", a regression "prediction"
MANIFEST_FILE = "manifest.json"
# Warm-up rows (see `warm_up`): one call per batch size, so the first requests of every
# usual size find TensorFlow's kernels and caches ready.
WARM_UP_BATCH_SIZES = (1, 8, 64)


class LoadFailed(Exception):
    """A version that cannot be served; the message says why."""


@dataclasses.dataclass
class LoadedVersion:
    """A loaded, callable model version.

    Attributes:
        name, version, path: the model's name, the version number, its directory.
        features: the raw features a request row holds.
        encoder: request rows -> serialized tf.Examples for this version's features.
        instances: `:predict` bodies of rows -> typed columns for `encoder.encode_typed`.
        signature_def: the SavedModel's signature map as TF Serving's metadata API shows it.
        manifest: the Pusher's manifest.json, or None.
        task: "binary", "multiclass" or "regression", told by the signature's outputs.
    """

    name: str
    version: int
    path: Path
    features: dict[str, RawFeature]
    encoder: ExampleEncoder
    instances: InstancesDecoder
    signature_def: dict[str, Any]
    manifest: dict[str, Any] | None
    _model: Any
    _signature: Any
    task: str = "binary"

    def predict(self, examples: list[bytes]) -> np.ndarray:
        """The task's predictions for serialized raw tf.Examples (P(positive), class
        probabilities [N, K] or values): one call of the signature's concrete function (its
        input is [None] tf.string, so no batch size retraces it)."""
        import tensorflow as tf

        from sluice.modeling.export import MAIN_OUTPUTS

        outputs = self._signature(**{INPUT: tf.constant(examples, dtype=tf.string)})
        return outputs[MAIN_OUTPUTS[self.task]].numpy()


def load_version(name: str, version: int, path: Path) -> LoadedVersion:
    """Loads `path` and checks it has what serving needs; raises LoadFailed."""
    from sluice.modeling.export import MAIN_OUTPUTS, load_serving_model, task_of_outputs

    try:
        features = read_raw_features(path)
        model = load_serving_model(str(path))
        signature = model.signatures[SIGNATURE]
    except Exception as error:  # a broken version must never take the server down
        raise LoadFailed(f"{type(error).__name__}: {error}".strip()[:2000]) from error
    inputs = signature.structured_input_signature[1]
    if set(inputs) != {INPUT} or not set(MAIN_OUTPUTS.values()) & set(signature.structured_outputs):
        raise LoadFailed(
            f"signature {SIGNATURE!r} takes {sorted(inputs)} and returns {sorted(signature.structured_outputs)}; "
            f"serving needs {INPUT!r} -> one of {sorted(MAIN_OUTPUTS.values())}"
        )
    return LoadedVersion(
        name,
        version,
        path,
        features,
        ExampleEncoder(features),
        InstancesDecoder(features, SIGNATURE),
        _signature_def(path),
        _manifest(path),
        model,
        signature,
        task=task_of_outputs(signature.structured_outputs),
    )


def warm_up(loaded: LoadedVersion) -> None:
    """Scores rows built from the model's raw features at each of WARM_UP_BATCH_SIZES and
    checks the answers (per row: a probability in [0, 1], K class probabilities summing to
    1, or a finite value, by the task); raises LoadFailed.

    The rows hold a typical value of each type (0, 0.0, "") and vary one number per row:
    the SavedModel carries no data of its own, and unseen categories go to OOV buckets,
    so these rows take every path a real row takes.
    """
    rows = warm_up_rows(loaded.features, max(WARM_UP_BATCH_SIZES))
    try:
        for size in WARM_UP_BATCH_SIZES:
            predicted = np.asarray(loaded.predict(loaded.encoder.encode_all(rows[:size])))
            if not _plausible(loaded.task, predicted, size):
                raise LoadFailed(f"warm-up: {size} rows gave {predicted!r}, not {size} {loaded.task} predictions")
    except LoadFailed:
        raise
    except Exception as error:
        raise LoadFailed(f"warm-up failed: {type(error).__name__}: {error}"[:2000]) from error


def _plausible(task: str, predicted: np.ndarray, rows: int) -> bool:
    if task == "multiclass":
        return predicted.ndim == 2 and len(predicted) == rows and np.allclose(predicted.sum(axis=1), 1.0, atol=1e-3)
    if predicted.shape != (rows,) or not np.all(np.isfinite(predicted)):
        return False
    return task == "regression" or bool(np.all((predicted >= 0) & (predicted <= 1)))


def warm_up_rows(features: dict[str, RawFeature], count: int) -> list[dict[str, Any]]:
    typical = {"int": 0, "float": 0.0, "string": ""}
    rows = []
    for index in range(count):
        row = {name: typical[feature.type] for name, feature in features.items()}
        for name, feature in features.items():
            if feature.type != "string":
                row[name] = index if feature.type == "int" else float(index)
                break
        rows.append(row)
    return rows


def _signature_def(path: Path) -> dict[str, Any]:
    """The SavedModel's SignatureDefMap in proto JSON, as TF Serving's metadata API returns it."""
    from google.protobuf.json_format import MessageToDict

    from sluice.modeling.op_libraries import read_saved_model

    signatures = read_saved_model(path).meta_graphs[0].signature_def
    return {
        name: MessageToDict(signatures[name], preserving_proto_field_name=True, including_default_value_fields=True)
        for name in sorted(signatures)
    }


def _manifest(path: Path) -> dict[str, Any] | None:
    manifest = path / MANIFEST_FILE
    try:
        return json.loads(manifest.read_text()) if manifest.exists() else None
    except (OSError, ValueError):
        return None  # a manifest is informative; serving never depends on it
