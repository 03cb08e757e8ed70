"""The DAGs around the training DAG: intervals, retries, assets, monitoring and batch scoring; parse time.

DAG files are inspected in a fresh interpreter with its own AIRFLOW_HOME (see test_dags).
"""

import asyncio
import datetime as dt
import json

import pytest

from tests.dags.test_dags import DAGS, airflow_env, run_python

INSPECT = r"""
import json, sys, time
started = time.monotonic()
import airflow.sdk  # Airflow's own import is not the DAG files' cost
from airflow.dag_processing.dagbag import DagBag

airflow_seconds = time.monotonic() - started
bag = DagBag(dag_folder=sys.argv[1])
heavy = sorted(m for m in ("tensorflow", "apache_beam", "keras", "tensorflow_transform") if m in sys.modules)

def assets(condition):
    return [a for o in condition.objects for a in assets(o)] if hasattr(condition, "objects") else [condition]

dags = {}
for dag_id, dag in bag.dags.items():
    first = dag.task_dict[sorted(dag.task_dict)[0]]
    dags[dag_id] = {
        "tasks": sorted(dag.task_dict),
        "edges": sorted([t, d] for t in dag.task_dict for d in dag.task_dict[t].downstream_task_ids),
        "timetable": type(dag.timetable).__name__,
        "schedule_assets": sorted(a.name for a in assets(dag.timetable.asset_condition)) if getattr(dag.timetable, "asset_condition", None) is not None else [],
        "outlets": {t: sorted(a.name for a in dag.task_dict[t].outlets) for t in dag.task_dict if dag.task_dict[t].outlets},
        "retries": first.retries,
        "retry_exponential_backoff": first.retry_exponential_backoff,
        "max_retry_delay": first.max_retry_delay.total_seconds() if first.max_retry_delay else None,
        "retry_policy": type(first.retry_policy).__name__ if getattr(first, "retry_policy", None) else None,
    }
# The census DAG built to start on new spans of a pattern of days (argv[2]).
from sluice.airflow_dag import build_dag
on_spans = build_dag("census", overrides=["data.train_file=" + sys.argv[2]], on_new_spans=True)
span_assets = assets(on_spans.timetable.asset_condition)
on_new_spans = {
    "timetable": type(on_spans.timetable).__name__,
    "assets": [a.name for a in span_assets],
    "watchers": [w.trigger.serialize()[0] for a in span_assets for w in a.watchers],
}
stats = {s.file.rsplit("/", 1)[-1]: s.duration.total_seconds() if hasattr(s.duration, "total_seconds") else s.duration for s in bag.dagbag_stats}
print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags, "heavy": heavy, "parse_seconds": stats, "airflow_seconds": airflow_seconds, "on_new_spans": on_new_spans}))
"""


@pytest.fixture(scope="module")
def inspected(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("orchestration_dagbag")
    completed = run_python(INSPECT, str(DAGS), str(tmp_path / "{YYYY}-{MM}-{DD}" / "*.csv"), env=airflow_env(tmp_path))
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_each_dag_file_parses_fast_without_tensorflow_beam_or_keras(inspected):
    assert inspected["import_errors"] == {} and inspected["heavy"] == []
    print("parse seconds per DAG file:", inspected["parse_seconds"], "importing Airflow:", round(inspected["airflow_seconds"], 2))
    assert set(inspected["parse_seconds"]) == {p.name for p in DAGS.glob("*.py")}
    # Generous: a shared 2-core machine. Airflow's own default dagbag_import_timeout is 30 s.
    assert all(seconds < 10 for seconds in inspected["parse_seconds"].values()), inspected["parse_seconds"]


def test_training_dag_runs_per_data_interval_with_backoff_and_feeds_the_pushed_model_asset(inspected):
    dag = inspected["dags"]["sluice_census"]
    assert dag["timetable"] == "CronDataIntervalTimetable"
    assert dag["retries"] == 2 and dag["retry_exponential_backoff"] and dag["max_retry_delay"] == 600
    assert dag["retry_policy"] == "ExceptionRetryPolicy"
    assert dag["outlets"] == {"pusher": ["sluice_census_pushed_model"]}


def test_monitoring_dag_checks_then_retrains_only_past_the_gate(inspected):
    dag = inspected["dags"]["sluice_census_monitoring"]
    assert dag["tasks"] == ["blocking_finding", "check_serving_data", "retrain"]
    assert dag["edges"] == [["blocking_finding", "retrain"], ["check_serving_data", "blocking_finding"]]
    assert dag["timetable"] == "CronDataIntervalTimetable"


def test_batch_scoring_dag_is_scheduled_on_new_spans_and_the_pushed_model(inspected):
    dag = inspected["dags"]["sluice_census_batch_scoring"]
    assert dag["tasks"] == ["batch_predict"]
    assert dag["timetable"] == "AssetTriggeredTimetable"
    assert "sluice_census_pushed_model" in dag["schedule_assets"]
    assert any(name.startswith("sluice_census_scoring_spans_") for name in dag["schedule_assets"])


def test_a_training_dag_on_new_spans_is_scheduled_on_its_span_assets_and_its_interval(inspected):
    result = inspected["on_new_spans"]
    assert result["timetable"] == "AssetOrTimeSchedule"
    assert len(result["assets"]) == 1 and result["assets"][0].startswith("sluice_census_spans_")
    assert result["watchers"] == ["sluice.airflow_assets.NewSpanTrigger"]


def test_the_span_watcher_fires_once_per_new_span_and_not_for_history(tmp_path):
    from sluice.airflow_assets import NewSpanTrigger

    (tmp_path / "2026-01-01").mkdir()
    (tmp_path / "2026-01-01" / "rows.csv").write_text("x\n")
    trigger = NewSpanTrigger(pattern=str(tmp_path / "{YYYY}-{MM}-{DD}" / "*.csv"), state_file=str(tmp_path / "state.json"), poke_interval=0.05)

    async def next_event(after_start):
        events = trigger.run()
        task = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.2)  # the first poll records history
        after_start()
        try:
            return await asyncio.wait_for(task, timeout=5)
        finally:
            await events.aclose()

    def new_day():
        (tmp_path / "2026-01-02").mkdir()
        (tmp_path / "2026-01-02" / "rows.csv").write_text("x\n")

    event = asyncio.run(next_event(new_day))
    assert event.payload["spans"] == [20455]
    # A restarted watcher remembers: nothing new, no event.
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(asyncio.wait_for(trigger.run().__anext__(), timeout=0.5))


def test_run_directories_are_named_by_data_interval_and_run_kind():
    from sluice.airflow_dag import run_dir_name, span_overrides

    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    assert run_dir_name("scheduled__2026-01-01T00:00:00+00:00", start, end) == "20260101T000000-20260102T000000__scheduled"
    assert run_dir_name("backfill__2026-01-01T00:00:00+00:00", start, end) == "20260101T000000-20260102T000000__backfill"
    assert run_dir_name("manual__2026-11-30T10:00:00+00:00", None, None) == "manual__2026-11-30T10_00_00_00_00"
    assert span_overrides(["a.b=1"], start, end) == ["a.b=1", f"spans.interval_start={start.isoformat()}", f"spans.interval_end={end.isoformat()}"]
    assert span_overrides([], start, end, triggering_spans=[20455, 20456]) == ["spans.span=20456"]
    assert span_overrides(["spans.date=2026-01-05"], start, end) == ["spans.date=2026-01-05"]
