"""The monitoring DAG of a pipeline: each interval of the serving request log, checked; a retrain on a blocking finding.

`sluice_<pipeline>_monitoring` runs once per interval of the request log (hourly files:
`@hourly`, or a wider schedule to check several at once) and:

1. `check_serving_data`: the interval's statistics, schema anomalies and skew against the
   training statistics of the model being served, with the reviewed schema's thresholds,
   and the HTML report (`sluice.monitoring`, in a child process). An interval with no
   request rows is skipped.
2. `blocking_finding`: goes on only when the check found a blocking problem.
3. `retrain`: triggers the pipeline's training DAG (`sluice_<pipeline>`).

Artifacts go to `<artifacts>/<pipeline>.monitoring/<interval>__<run kind>/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pendulum

from sluice.airflow_dag import Retries, run_dir_name


def default_request_log(pipeline_name: str, home: str | None = None) -> str:
    """Where the REST server keeps a pipeline's request log: `<home>/request_log/<pipeline>/`."""
    from sluice.config import default_home

    return str(Path(home or default_home()) / "request_log" / pipeline_name)


def build_monitoring_dag(
    pipeline_name: str,
    *,
    request_log: str | None = None,
    schedule: str = "@hourly",
    start_date: pendulum.DateTime = pendulum.datetime(2026, 1, 1, tz="UTC"),
    overrides: Sequence[str] = (),
    beam_args: Sequence[str] = (),
    retrain_conf: dict | None = None,
    retries: Retries = Retries(),
):
    """The DAG `sluice_<pipeline_name>_monitoring`.

    Args:
        pipeline_name: a pipeline under pipelines/.
        request_log: the request-log directory (default `default_request_log`).
        schedule: the intervals checked, a cron expression or preset.
        start_date: the first interval's start.
        overrides: the pipeline's settings (its `home` above all); a run's conf can replace them.
        beam_args: Beam pipeline options of the check's Beam steps.
        retrain_conf: the conf of the training run a blocking finding starts (default: its defaults).
        retries: how a failed check is retried.
    """
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
    from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, get_current_context, task

    from sluice.airflow_assets import pushed_model_asset
    from sluice.config import apply_overrides
    from sluice.registry import pipeline_module

    config = apply_overrides(pipeline_module(pipeline_name).Config(), list(overrides))
    log = request_log or default_request_log(pipeline_name, config.home)
    request_log_asset = Asset(name=f"sluice_{pipeline_name}_request_log", uri=f"file://{log}", group="request_log")

    @dag(
        dag_id=f"sluice_{pipeline_name}_monitoring",
        schedule=CronDataIntervalTimetable(schedule, timezone="UTC"),
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        tags=["sluice", pipeline_name, "monitoring"],
        default_args=retries.default_args(),
        params={
            "overrides": Param(list(overrides), type="array", description="section.field=value settings"),
            "beam_args": Param(list(beam_args), type="array", description="Beam pipeline options"),
            "request_log": Param(log, type="string", description="the request-log directory"),
        },
        doc_md=__doc__,
    )
    def monitoring_dag():
        @task(inlets=[request_log_asset, pushed_model_asset(pipeline_name, config.serving_root)])
        def check_serving_data() -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            from sluice.monitoring import check_in_child

            context = get_current_context()
            params = context["params"]
            start, end = context["data_interval_start"], context["data_interval_end"]
            result = check_in_child(
                pipeline_name, params["overrides"], params["request_log"], start, end,
                run_dir_name(context["run_id"], start, end), params["beam_args"],
            )
            if result is None:
                raise AirflowSkipException(f"no request-log rows in {params['request_log']} for [{start}, {end})")
            print(
                f"{result['rows']} request rows from {len(result['files'])} file(s) against the training run "
                f"{result['training_run']} of served version {result['served_version']}: {result['blocking']} "
                f"blocking finding(s), {result['warnings']} warning(s); report: {result['report']}"
            )
            return result

        @task.short_circuit
        def blocking_finding(result: dict) -> bool:
            return result["blocking"] > 0

        retrain = TriggerDagRunOperator(
            task_id="retrain",
            trigger_dag_id=f"sluice_{pipeline_name}",
            conf=retrain_conf,
            wait_for_completion=False,
        )
        blocking_finding(check_serving_data()) >> retrain

    return monitoring_dag()
