"""Finding pipelines by name: `<pipelines dir>/<name>/pipeline.py` defines each one.

Pipelines are looked for in the directories of $SLUICE_PIPELINES (os.pathsep-separated;
default: ./pipelines, the user's own project), then in this repository's pipelines/.
A directory of $SLUICE_PIPELINES is never put on sys.path: its pipelines are imported as
`sluice.user_pipelines.<name>`, so a pipeline's modules refer to each other by
`__package__` and a name never clashes with an installed package. Child processes (each
component's, Airflow's tasks) inherit the variable and find the same modules.

A pipeline module either declares `PIPELINE = components.standard_pipeline.Declaration(...)`,
or exposes the contract itself: NAME, LABEL_KEY, POSITIVE_LABEL, CSV_FORMAT, `Config` (a
PipelineConfig with embedded defaults and a `reviewed_schema` path),
`create_pipeline(config) -> Pipeline` and `sample_rows_file(config)`.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType, SimpleNamespace

from sluice.config import PROJECT_ROOT
from sluice.pipeline import PipelineError

PIPELINES_ENV = "SLUICE_PIPELINES"
USER_PACKAGE = "sluice.user_pipelines"
BUILT_IN = PROJECT_ROOT / "pipelines"


def user_pipeline_dirs() -> list[Path]:
    """The directories of $SLUICE_PIPELINES (default ./pipelines), absolute, less this repository's."""
    listed = os.environ.get(PIPELINES_ENV) or "pipelines"
    dirs = [Path(entry).resolve() for entry in listed.split(os.pathsep) if entry]
    return [d for d in dict.fromkeys(dirs) if d != BUILT_IN.resolve()]


def add_pipelines_dir(directory: str | Path) -> None:
    """Adds a pipelines directory for this process and its children (e.g. from a DAG file)."""
    entries = [entry for entry in os.environ.get(PIPELINES_ENV, "").split(os.pathsep) if entry]
    path = str(Path(directory).resolve())
    if path not in entries:
        os.environ[PIPELINES_ENV] = os.pathsep.join([*entries, path])
    import sluice.user_pipelines as package

    package.__path__[:] = [str(d) for d in user_pipeline_dirs()]


def _where() -> dict[str, str]:
    """Pipeline name -> module to import; a user's pipeline wins over a built-in one of its name."""
    found = {p.parent.name: f"pipelines.{p.parent.name}.pipeline" for p in BUILT_IN.glob("*/pipeline.py")}
    for directory in reversed(user_pipeline_dirs()):
        for p in directory.glob("*/pipeline.py"):
            if p.parent.name.isidentifier():
                found[p.parent.name] = f"{USER_PACKAGE}.{p.parent.name}.pipeline"
    return found


def available_pipelines() -> list[str]:
    return sorted(_where())


def pipeline_module(name: str) -> ModuleType | SimpleNamespace:
    """What pipeline `name` defines (its module, or its declaration's contract).

    Raises:
        PipelineError: no pipeline has that name (the message names those that exist).
    """
    where = _where()
    if name not in where:
        dirs = ", ".join(str(d) for d in [*user_pipeline_dirs(), BUILT_IN])
        raise PipelineError(f"no pipeline {name!r} in {dirs} (${PIPELINES_ENV}); available: {', '.join(sorted(where)) or 'none'}")
    module = importlib.import_module(where[name])
    declaration = getattr(module, "PIPELINE", None)
    if declaration is not None and not hasattr(module, "create_pipeline"):
        return declaration.contract()
    return module
