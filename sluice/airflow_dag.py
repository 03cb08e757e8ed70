"""Builds an Airflow 3 DAG from a pipeline definition: one task per component.

Tasks pass only artifact URIs (as XCom); a component's `after` is an edge without data.
Each task runs its component in a child Python process (`sluice.execute.run_in_child`), so
TensorFlow, TFT and Beam are never imported by the scheduler or the task runner, and
TFT's crash at interpreter exit never reaches them.

Run-time settings are DAG params: `overrides` (["trainer.train_steps=500", ...]) and
`beam_args` (["--runner=DataflowRunner", ...]), and `cache` (false: recompute every step).
Artifacts go under $SLUICE_HOME; each task records its execution in the home's run
history (`sluice.metadata`), the store `sluice run` writes to.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import pendulum


def _safe_run_id(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")


def _run_component(pipeline_name: str, component_name: str, overrides, beam_args, run_id: str, input_uris, cache: bool = True) -> str:
    """Task body: the component from the pipeline definition as configured for this run."""
    from sluice.config import apply_overrides
    from sluice.execute import run_in_child
    from sluice.metadata.store import store_path
    from sluice.registry import pipeline_module

    module = pipeline_module(pipeline_name)
    config = apply_overrides(module.Config(), list(overrides))
    component = module.create_pipeline(config).component(component_name)
    run_dir = Path(config.artifact_root) / pipeline_name / _safe_run_id(run_id)
    store = str(store_path(config.home))
    return run_in_child(component, str(run_dir), input_uris, list(beam_args), store_path=store, cache=cache).uri


def build_dag(
    pipeline_name: str,
    *,
    schedule: str | None = "@daily",
    start_date: pendulum.DateTime = pendulum.datetime(2026, 1, 1, tz="UTC"),
    overrides: Sequence[str] = (),
    beam_args: Sequence[str] = (),
    retries: int = 0,
    cache: bool = True,
):
    """The DAG `sluice_<pipeline_name>`.

    Args:
        pipeline_name: a pipeline under pipelines/.
        schedule: Airflow schedule of the runs.
        start_date: first logical date (no catch-up of earlier intervals).
        overrides: default `section.field=value` settings; a run's conf can replace them.
        beam_args: default Beam pipeline options; a run's conf can replace them.
        retries: task retries (a retried task reuses its finished artifact).
        cache: default of the `cache` param: reuse artifacts sealed by earlier runs.
    """
    from airflow.sdk import Param, dag, get_current_context, task

    from sluice.registry import pipeline_module

    module = pipeline_module(pipeline_name)
    pipeline = module.create_pipeline(module.Config())

    @dag(
        dag_id=f"sluice_{pipeline_name}",
        schedule=schedule,
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        tags=["sluice", pipeline_name],
        default_args={"retries": retries},
        params={
            "overrides": Param(list(overrides), type="array", description="section.field=value settings"),
            "beam_args": Param(list(beam_args), type="array", description="Beam pipeline options"),
            "cache": Param(cache, type="boolean", description="reuse artifacts sealed from the same inputs, code and settings"),
        },
        doc_md=(module.__doc__ or "").strip(),
    )
    def pipeline_dag():
        uris = {}
        for component in pipeline.components:

            @task(task_id=component.name)
            def run_component(component_name: str, input_uris: dict[str, str]) -> str:
                context = get_current_context()
                params = context["params"]
                return _run_component(
                    pipeline_name, component_name, params["overrides"], params["beam_args"], context["run_id"], input_uris,
                    params.get("cache", True),
                )

            uris[component.name] = run_component(
                component.name, {argument: uris[upstream] for argument, upstream in component.inputs.items()}
            )
            for before in component.after:
                uris[before] >> uris[component.name]

    return pipeline_dag()
