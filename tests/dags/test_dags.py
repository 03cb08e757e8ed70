"""The DAG files: they load, stay light at parse time and wire the components (runs: test_data_intervals, test_real_scheduler).

Each check runs in a fresh interpreter with its own AIRFLOW_HOME (embedded SQLite), so
what a DAG file imports is measured from a clean start.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

DAGS = ROOT / "dags"

INSPECT_DAGS = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
heavy = sorted(m for m in ("tensorflow", "apache_beam", "keras", "tensorflow_transform") if m in sys.modules)
dags = {
    dag_id: {
        "tasks": sorted(dag.task_dict),
        "edges": sorted([t, d] for t in dag.task_dict for d in dag.task_dict[t].downstream_task_ids),
        "schedule": str(dag.schedule) if hasattr(dag, "schedule") else None,
        "catchup": dag.catchup,
    }
    for dag_id, dag in bag.dags.items()
}
print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags, "heavy": heavy}))
"""


def airflow_env(tmp_path: Path) -> dict:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "SLUICE_HOME": str(tmp_path / "sluice_home"),
    }


def run_python(code: str, *args: str, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def dag_files(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("dagbag")
    completed = run_python(INSPECT_DAGS, str(DAGS), env=airflow_env(tmp_path))
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_every_dag_file_loads_without_import_errors(dag_files):
    assert dag_files["import_errors"] == {}
    assert len(dag_files["dags"]) >= len(list(DAGS.glob("*.py")))


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS.glob("*.py")))
def test_importing_a_dag_file_loads_no_tensorflow_beam_or_keras(dag_file, tmp_path):
    code = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('dag_under_test', sys.argv[1])\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'apache_beam', 'keras', 'tensorflow_transform') if m in sys.modules)))\n"
    )
    completed = run_python(code, str(DAGS / dag_file), env=airflow_env(tmp_path))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []


def test_census_dag_has_one_task_per_component_wired_by_artifact(dag_files):
    dag = dag_files["dags"]["sluice_census"]
    assert dag["tasks"] == sorted([
        "example_gen", "statistics_gen", "schema_gen", "example_validator",
        "transform", "tuner", "trainer", "compact_export", "evaluator", "skew_validator", "pusher",
    ])
    assert dag["edges"] == sorted([
        ["example_gen", "statistics_gen"], ["example_gen", "transform"], ["example_gen", "example_validator"],
        ["statistics_gen", "schema_gen"], ["statistics_gen", "example_validator"], ["statistics_gen", "transform"],
        ["schema_gen", "example_validator"], ["schema_gen", "transform"],
        ["example_validator", "transform"],
        ["transform", "tuner"], ["transform", "trainer"], ["transform", "evaluator"], ["example_gen", "evaluator"],
        ["tuner", "trainer"], ["trainer", "evaluator"], ["trainer", "pusher"], ["evaluator", "pusher"],
        ["transform", "compact_export"], ["trainer", "compact_export"], ["compact_export", "evaluator"],
        ["statistics_gen", "skew_validator"], ["schema_gen", "skew_validator"], ["skew_validator", "pusher"],
    ])
    assert dag["catchup"] is False
