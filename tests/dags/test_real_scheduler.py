"""Airflow's own scheduler, DAG processor and API server (for the tasks' execution API) run a
tiny census DAG to success: an embedded SQLite database in a temporary AIRFLOW_HOME,
bound to 127.0.0.1, parallelism sized to two cores.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, SMALL_CENSUS_OVERRIDES, free_port

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DEADLINE_SECONDS = 600

TINY_DAG = """
from sluice.airflow_dag import Retries, build_dag

dag = build_dag("census", schedule=None, overrides={overrides!r}, beam_args=["--direct_running_mode=in_memory"], retries=Retries(retries=0))
"""


def scheduler_env(tmp_path: Path, port: int) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "2",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "SLUICE_HOME": str(tmp_path / "sluice_home"),
    }


@pytest.fixture
def airflow_services(tmp_path):
    """Scheduler, DAG processor and API server, each in its own process group, stopped at the end."""
    port = free_port()
    env = scheduler_env(tmp_path, port)
    (tmp_path / "dags").mkdir()
    overrides = [*SMALL_CENSUS_OVERRIDES, "tuner.max_trials=0", "trainer.ensemble_size=1", "compact_export.enabled=false"]
    (tmp_path / "dags" / "tiny_census.py").write_text(TINY_DAG.format(overrides=overrides))
    migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    started = []
    try:
        for service in ("api-server", "dag-processor", "scheduler"):
            log = open(tmp_path / f"{service}.log", "w")
            started.append(subprocess.Popen([AIRFLOW, service], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        yield env, tmp_path
    finally:
        for process in started:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def query(tmp_path: Path, sql: str, *args) -> list:
    with sqlite3.connect(tmp_path / "airflow" / "airflow.db", timeout=30) as db:
        return db.execute(sql, args).fetchall()


@pytest.mark.e2e
def test_the_scheduler_runs_a_triggered_tiny_census_dag_to_success(airflow_services):
    env, tmp_path = airflow_services
    started = time.monotonic()

    def waited() -> float:
        return time.monotonic() - started

    while not query(tmp_path, "select 1 from serialized_dag where dag_id = 'sluice_census'"):
        assert waited() < 180, (tmp_path / "dag-processor.log").read_text()[-3000:]
        time.sleep(2)
    for command in (["dags", "unpause", "sluice_census"], ["dags", "trigger", "sluice_census"]):
        completed = subprocess.run([AIRFLOW, *command], env=env, capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, completed.stderr[-3000:]

    state = None
    while state not in ("success", "failed"):
        assert waited() < DEADLINE_SECONDS, (
            f"run still {state} after {waited():.0f} s; tasks: "
            f"{query(tmp_path, 'select task_id, state from task_instance')}\n" + (tmp_path / "scheduler.log").read_text()[-3000:]
        )
        time.sleep(1)
        [[state]] = query(tmp_path, "select state from dag_run where dag_id = 'sluice_census'") or [[None]]
    tasks = dict(query(tmp_path, "select task_id, state from task_instance where dag_id = 'sluice_census'"))
    print(f"run {state} after {waited():.0f} s: {json.dumps(tasks)}")
    assert state == "success", tasks
    assert set(tasks.values()) == {"success"} and len(tasks) == 11
