"""Builds an Airflow 3 DAG from a pipeline definition: one task per component.

Tasks pass only artifact URIs (as XCom); a component's `after` is an edge without data.
Each task runs its component in a child Python process (`sluice.execute.run_in_child`), so
TensorFlow, TFT and Beam are never imported by the scheduler or the task runner, and
TFT's crash at interpreter exit never reaches them.

Data intervals: a run reads the spans of its data interval (`sluice.spans`; inputs whose
pattern has `{SPAN}` or `{YYYY}-{MM}-{DD}`), and its artifacts go to a run directory
named by that interval, `<artifacts>/<pipeline>/<interval>__<run kind>/`, so a rerun or a
retry of an interval finds its finished artifacts, and a backfill gives one run
directory per interval. A run started by a new span (the `spans` asset, see
`sluice.airflow_assets`) reads that span.

Run-time settings are DAG params: `overrides` (["trainer.train_steps=500", ...]) and
`beam_args` (["--runner=DataflowRunner", ...]), `cache` (false: recompute every step), and
`in_task_process` (true: each component runs in its task's own process, for `dag.test()`
and debuggers: all tasks then share one process and one TensorFlow import; that process
must leave through `sluice.process.exit_now`).
Artifacts go under $SLUICE_HOME; each task records its execution in the home's run
history (`sluice.metadata`), the store `sluice run` writes to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import pendulum

PUSHED_MODEL_TYPE = "PushedModel"


@dataclasses.dataclass(frozen=True)
class Retries:
    """How a failed task is retried: `retries` times, waiting `delay`, doubled each time up to `max_delay`.

    A closed validation gate (blocking findings) or a bad setting fails at once: a retry
    would find the same. A retried component reuses what its failed attempt finished.
    """

    retries: int = 2
    delay: dt.timedelta = dt.timedelta(seconds=30)
    max_delay: dt.timedelta = dt.timedelta(minutes=10)
    exponential_backoff: bool = True

    def default_args(self) -> dict[str, Any]:
        from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

        return {
            "retries": self.retries,
            "retry_delay": self.delay,
            "retry_exponential_backoff": 2.0 if self.exponential_backoff else 0,
            "max_retry_delay": self.max_delay,
            "retry_policy": ExceptionRetryPolicy(
                rules=[
                    RetryRule(
                        exception=["sluice.errors.GateClosed", "sluice.config.ConfigError", "sluice.spans.SpanError"],
                        action=RetryAction.FAIL,
                        reason="the same inputs and settings would fail the same way",
                    )
                ]
            ),
        }


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def run_dir_name(run_id: str, interval_start: dt.datetime | None, interval_end: dt.datetime | None) -> str:
    """A run's directory: its data interval and the kind of run (scheduled, backfill, manual, ...).

    Runs of the same interval and kind share a directory, so clearing and rerunning an
    interval reuses its finished artifacts; a run without an interval keeps its run id.
    """
    if interval_start is None or interval_end is None:
        return safe_name(run_id)
    kind = run_id.split("__", 1)[0] if "__" in run_id else "run"
    return f"{interval_start:%Y%m%dT%H%M%S}-{interval_end:%Y%m%dT%H%M%S}__{safe_name(kind)}"


def span_overrides(
    overrides: Sequence[str],
    interval_start: dt.datetime | None,
    interval_end: dt.datetime | None,
    triggering_spans: Sequence[int] = (),
) -> list[str]:
    """The run's settings with its span selection: a new span that started it, else its data interval.

    A run's own `spans.*` overrides win over both.
    """
    if any(o.startswith("spans.") for o in overrides):
        return list(overrides)
    if triggering_spans:
        return [*overrides, f"spans.span={max(triggering_spans)}"]
    if interval_start is None or interval_end is None:
        return list(overrides)
    return [*overrides, f"spans.interval_start={interval_start.isoformat()}", f"spans.interval_end={interval_end.isoformat()}"]


def _run_component(
    pipeline_name: str, component_name: str, overrides, beam_args, run_dir_name_: str, input_uris,
    cache: bool = True, in_task_process: bool = False,
) -> dict:
    """Task body: the component from the pipeline definition as configured for this run."""
    from sluice.artifacts import read_artifact
    from sluice.config import apply_overrides
    from sluice.errors import GateClosed
    from sluice.execute import ComponentFailed, execute, run_in_child
    from sluice.metadata.store import MetadataStore, store_path
    from sluice.registry import pipeline_module

    module = pipeline_module(pipeline_name)
    config = apply_overrides(module.Config(), list(overrides))
    component = module.create_pipeline(config).component(component_name)
    run_dir = Path(config.artifact_root) / pipeline_name / run_dir_name_
    store = str(store_path(config.home))
    if in_task_process:
        uri = execute(component, run_dir, input_uris, list(beam_args), store=MetadataStore(store), cache=cache).uri
        return _task_result(uri)
    try:
        uri = run_in_child(component, str(run_dir), input_uris, list(beam_args), store_path=store, cache=cache).uri
    except ComponentFailed as failed:
        sealed = run_dir / component_name / "artifact.json"
        if sealed.exists() and "gate_closed" in read_artifact(sealed.parent).properties:
            raise GateClosed(str(failed)) from None
        raise
    return _task_result(uri)


def _task_result(uri: str) -> dict:
    from sluice.artifacts import read_artifact

    artifact = read_artifact(uri)
    return {"uri": uri, "pushed": artifact.properties.get("pushed"), "type": artifact.type}


def _triggering_spans(context: Mapping[str, Any]) -> list[int]:
    """Span numbers carried by the new-span events that started this run (sluice.airflow_assets)."""
    spans: list[int] = []
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in events:
            payload = (event.extra or {}).get("payload") or {}
            spans.extend(payload.get("spans", []))
    return spans


def build_dag(
    pipeline_name: str,
    *,
    schedule: str | None = "@daily",
    start_date: pendulum.DateTime = pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup: bool = False,
    overrides: Sequence[str] = (),
    beam_args: Sequence[str] = (),
    retries: Retries = Retries(),
    on_new_spans: bool = False,
    cache: bool = True,
):
    """The DAG `sluice_<pipeline_name>`.

    Args:
        pipeline_name: a pipeline under pipelines/.
        schedule: a cron expression or preset ("@daily"): each run covers the data
            interval since the one before; None: runs only when triggered.
        start_date: the first data interval's start.
        catchup: whether the scheduler runs the intervals since `start_date` it missed
            (`airflow backfill create` runs chosen intervals either way).
        overrides: default `section.field=value` settings; a run's conf can replace them.
        beam_args: default Beam pipeline options; a run's conf can replace them.
        retries: how failed tasks are retried.
        on_new_spans: a new span of the pipeline's span inputs on disk also starts a run
            (the `spans` asset and its watcher), which reads that span.
        cache: default of the `cache` param: reuse artifacts sealed by earlier runs.
    """
    from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, Param, dag, get_current_context, task

    from sluice.airflow_assets import new_span_asset, pushed_model_asset
    from sluice.config import apply_overrides
    from sluice.registry import pipeline_module
    from sluice.spans import SpanSelection

    module = pipeline_module(pipeline_name)
    # The structure only: one interval stands for all, so parsing never looks for data.
    structure = apply_overrides(module.Config(), list(overrides)).model_copy(
        update={"spans": SpanSelection(interval_start=start_date, interval_end=start_date.add(days=1))}
    )
    pipeline = module.create_pipeline(structure)
    timetable = CronDataIntervalTimetable(schedule, timezone="UTC") if schedule else None
    if on_new_spans:
        spans = new_span_asset(pipeline_name, structure)
        timetable = AssetOrTimeSchedule(timetable=timetable, assets=spans) if timetable else spans
    pushed = pushed_model_asset(pipeline_name, structure.serving_root)

    @dag(
        dag_id=f"sluice_{pipeline_name}",
        schedule=timetable,
        start_date=start_date,
        catchup=catchup,
        max_active_runs=1,
        tags=["sluice", pipeline_name],
        default_args=retries.default_args(),
        params={
            "overrides": Param(list(overrides), type="array", description="section.field=value settings"),
            "beam_args": Param(list(beam_args), type="array", description="Beam pipeline options"),
            "cache": Param(cache, type="boolean", description="reuse artifacts sealed from the same inputs, code and settings"),
            "in_task_process": Param(
                False, type="boolean",
                description="run each component in the task's own process, not a fresh child (dag.test(), debuggers)",
            ),
        },
        doc_md=(module.__doc__ or "").strip(),
    )
    def pipeline_dag():
        uris = {}
        for component in pipeline.components:
            pushes = component.load_spec().output.type_name() == PUSHED_MODEL_TYPE

            @task(task_id=component.name, outlets=[pushed] if pushes else [])
            def run_component(component_name: str, input_uris: dict[str, str]) -> str:
                from airflow.sdk.exceptions import AirflowSkipException

                context = get_current_context()
                params = context["params"]
                start, end = context.get("data_interval_start"), context.get("data_interval_end")
                settings = span_overrides(params["overrides"], start, end, _triggering_spans(context))
                result = _run_component(
                    pipeline_name, component_name, settings, params["beam_args"],
                    run_dir_name(context["run_id"], start, end), input_uris, params.get("cache", True),
                    params.get("in_task_process", False),
                )
                if result["type"] == PUSHED_MODEL_TYPE and not result["pushed"]:
                    # No new model: no event on the pushed-model asset.
                    raise AirflowSkipException(f"{component_name}: model not pushed (see {result['uri']})")
                return result["uri"]

            uris[component.name] = run_component(
                component.name, {argument: uris[upstream] for argument, upstream in component.inputs.items()}
            )
            for before in component.after:
                uris[before] >> uris[component.name]

    return pipeline_dag()
