"""The monitoring DAG: a drifted hour of the request log triggers a retrain, a clean hour does not.

It checks the request log against the shared small census run (its pushed model is the
one served), in a fresh interpreter with its own AIRFLOW_HOME, through `dag.test()`.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dags.test_dags import airflow_env, run_python
from tests.helpers import CENSUS_SAMPLE_TRAIN, ROOT, SMALL_CENSUS_OVERRIDES

RUN_MONITORING = r"""
import json, sys
import pendulum
sys.path.insert(0, sys.argv[1])
from dags.census_monitoring import dag
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session

for logical_date in sys.argv[3:]:
    run = dag.test(logical_date=pendulum.parse(logical_date), run_conf={"overrides": json.loads(sys.argv[2]), "beam_args": ["--direct_running_mode=in_memory"]})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    with create_session() as session:
        retrains = [r.run_id for r in session.query(DagRun).filter(DagRun.dag_id == "sluice_census")]
    result = next(ti for ti in run.get_task_instances() if ti.task_id == "check_serving_data").xcom_pull(task_ids="check_serving_data")
    interval = [run.data_interval_start.isoformat(), run.data_interval_end.isoformat()]
    print("RESULT", json.dumps({"run_state": str(run.state), "interval": interval, "states": states, "retrains": retrains, "result": result}))
"""

FEATURE_TYPES = {"age": int, "fnlwgt": int, "education_num": int, "capital_gain": int, "capital_loss": int, "hours_per_week": int}


def request_rows(drifted: bool) -> list[str]:
    from pipelines.census.features import CSV_COLUMNS, LABEL_KEY

    lines = []
    with open(CENSUS_SAMPLE_TRAIN, newline="") as handle:
        for values in csv.reader(handle, skipinitialspace=True):
            features = {name: value for name, value in zip(CSV_COLUMNS, values) if name != LABEL_KEY}
            features = {k: (FEATURE_TYPES[k](v) if k in FEATURE_TYPES else v) for k, v in features.items() if v != "?"}
            if drifted:  # a population the model never saw: all women, all over 70
                features.update(sex="Female", age=70 + features["age"] % 20)
            lines.append(json.dumps({"features": features}))
    return lines


@pytest.fixture
def serving_home(tmp_path, census_run):
    """A home that serves the shared run's pushed model (linked, never written)."""
    shared = Path(census_run.config.home)
    home = tmp_path / "home"
    (home / "artifacts").mkdir(parents=True)
    (home / "artifacts" / "census").symlink_to(shared / "artifacts" / "census")
    (home / "serving").symlink_to(shared / "serving")
    return home


def test_a_drifted_hour_of_requests_triggers_a_retrain_and_a_clean_hour_does_not(tmp_path, serving_home):
    log = serving_home / "request_log" / "census"
    log.mkdir(parents=True)
    drifted, clean = request_rows(drifted=True), request_rows(drifted=False)
    (log / "2026-01-02T05.jsonl").write_text("\n".join(drifted[:300]) + "\n")  # an hour may span several files
    (log / "2026-01-02T05-b.jsonl").write_text("\n".join(drifted[300:]) + "\n")
    (log / "20260102-06.jsonl").write_text("\n".join(clean) + "\n")
    env = {**airflow_env(tmp_path), "SLUICE_HOME": str(serving_home)}
    airflow = str(Path(sys.executable).parent / "airflow")
    for command in (["db", "migrate"], ["dags", "reserialize"]):  # the retrained DAG must be known, as the DAG processor makes it
        completed = subprocess.run([airflow, *command], env=env, capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr[-3000:]

    # A manual run covers the hour before its logical date, as the scheduled run of that hour would.
    hours = ["2026-01-02T06:00:00+00:00", "2026-01-02T07:00:00+00:00"]
    completed = run_python(RUN_MONITORING, str(ROOT), json.dumps(list(SMALL_CENSUS_OVERRIDES)), *hours, env=env, timeout=900)
    assert completed.returncode == 0, completed.stderr[-5000:]
    first, second = (json.loads(line[len("RESULT "):]) for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    print(json.dumps([first, second], indent=2))

    assert first["interval"] == ["2026-01-02T05:00:00+00:00", "2026-01-02T06:00:00+00:00"]
    assert first["states"] == {"check_serving_data": "success", "blocking_finding": "success", "retrain": "success"}
    assert len(first["retrains"]) == 1
    result = first["result"]
    assert result["blocking"] > 0 and result["rows"] == 600 and len(result["files"]) == 2
    assert Path(result["training_run"]).name == "shared"
    report = Path(result["report"]).read_text()
    assert "sex" in report and "age" in report

    assert second["interval"] == ["2026-01-02T06:00:00+00:00", "2026-01-02T07:00:00+00:00"]
    assert second["states"] == {"check_serving_data": "success", "blocking_finding": "success", "retrain": "skipped"}
    assert second["retrains"] == first["retrains"]  # no new one
    assert second["result"]["blocking"] == 0 and second["result"]["rows"] == 600
