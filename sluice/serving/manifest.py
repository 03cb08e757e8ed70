"""`manifest.json`, the note every pushed version carries: where it came from, how it scored,
how to call it, and what a process needs to load it.

    {
      "pipeline": "census", "run_id": "...", "version": 1764518400,
      "pushed_at": "2026-11-30T16:03:00+0000", "model": "ensemble",
      "families": ["gradient_boosted_trees", "wide_deep"],
      "metrics": {"split": "test", "accuracy": 0.87, ...},
      "signatures": {"serving_default": {"inputs": ["examples"], "outputs": ["probability"],
                                          "method": "tensorflow/serving/predict"}},
      "ops": {"libraries": ["tensorflow_decision_forests"],
              "custom_ops": ["SimpleMLCreateModelResource", ...]},
      "blessing": {...the Evaluator's decision...}
    }

Signatures and ops are read from `saved_model.pb` itself (its signature defs and the op
list the SavedModel records), not from what the Trainer meant to export, so the manifest
says what a loader will meet. `ops.libraries` empty means a stock TensorFlow (and a stock
TF Serving) loads the version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from sluice.modeling.op_libraries import custom_ops, read_saved_model

MANIFEST_FILE = "manifest.json"


def signatures(model_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Each serving signature's input and output keys (the init op left out)."""
    described = {}
    for meta_graph in read_saved_model(model_dir).meta_graphs:
        for name, signature in sorted(meta_graph.signature_def.items()):
            if name.startswith("__"):
                continue
            described[name] = {
                "inputs": sorted(signature.inputs),
                "outputs": sorted(signature.outputs),
                "method": signature.method_name,
            }
    return described


def write_manifest(model_dir: str | Path, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Writes `manifest.json` into `model_dir`: `fields` plus its signatures and ops."""
    manifest = {**fields, "signatures": signatures(model_dir), "ops": custom_ops(model_dir)}
    (Path(model_dir) / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def read_manifest(model_dir: str | Path) -> dict[str, Any] | None:
    """A version's manifest (None for a version pushed before manifests were written)."""
    path = Path(model_dir) / MANIFEST_FILE
    return json.loads(path.read_text()) if path.exists() else None
