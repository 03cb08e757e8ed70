"""Finding pipelines by name: `pipelines/<name>/pipeline.py` defines each one.

A pipeline module exposes NAME, LABEL_KEY, POSITIVE_LABEL, CSV_FORMAT, `Config` (a
PipelineConfig with embedded defaults and a `reviewed_schema` path),
`create_pipeline(config) -> Pipeline` and `sample_rows_file(config)`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from sluice.config import PROJECT_ROOT
from sluice.pipeline import PipelineError


def available_pipelines() -> list[str]:
    return sorted(p.parent.name for p in (PROJECT_ROOT / "pipelines").glob("*/pipeline.py"))


def pipeline_module(name: str) -> ModuleType:
    """The module defining pipeline `name`; raises PipelineError naming the ones that exist."""
    if name not in available_pipelines():
        raise PipelineError(f"no pipeline {name!r}; available: {', '.join(available_pipelines()) or 'none'}")
    return importlib.import_module(f"pipelines.{name}.pipeline")
