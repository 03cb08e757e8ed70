"""Sluice: tabular ML pipelines from raw CSV to a served SavedModel."""

from sluice.artifacts import Artifact, read_artifact
from sluice.pipeline import Component, Pipeline
from sluice.runner import run_pipeline

__all__ = ["Artifact", "Component", "Pipeline", "read_artifact", "run_pipeline"]
