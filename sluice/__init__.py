"""Sluice: tabular ML pipelines from raw CSV to a served SavedModel."""

import importlib

from sluice.artifacts import Artifact, read_artifact
from sluice.pipeline import Component, Pipeline
from sluice.runner import run_pipeline

__all__ = ["Artifact", "Component", "Pipeline", "read_artifact", "run_pipeline"]

# Modules a pipeline's own code imports by a short name (`from sluice import families`).
_MOVED = {"families": "sluice.modeling.families", "windows": "sluice.beam.windows"}


def __getattr__(name: str):
    if name in _MOVED:
        return importlib.import_module(_MOVED[name])
    raise AttributeError(f"module 'sluice' has no attribute {name!r}")
