"""A backfill of two consecutive daily intervals of the census DAG, through `dag.test()`.

Each interval reads its own day's span (and, with a rolling window of 2, the day
before), gets its own run directory named by the interval, and the second interval
reuses what did not change: Transform's analysis of the first day's span. Running the
second interval again reuses every finished artifact, without starting a process.

The two intervals run their components in the `dag.test()` process (`in_task_process`),
as a debugger would; the rerun runs as a scheduled task does, where each component that has
work to do gets a child process.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sluice.metadata.store import REUSED, STORE_FILE, MetadataStore, executions
from tests.dags.test_dags import airflow_env, run_python
from tests.helpers import CENSUS_SAMPLE_TRAIN, ROOT, SMALL_CENSUS_OVERRIDES

RUN_INTERVALS = r"""
import json, os, sys
import pendulum
sys.path.insert(0, sys.argv[1])
from dags.census import dag
from sluice.process import exit_now

print("PID", os.getpid())
for logical_date in sys.argv[4:]:
    conf = {"overrides": json.loads(sys.argv[2]), "beam_args": ["--direct_running_mode=in_memory"], "in_task_process": json.loads(sys.argv[3])}
    run = dag.test(logical_date=pendulum.parse(logical_date), run_conf=conf)
    tasks = {ti.task_id: {"state": str(ti.state), "seconds": round(ti.duration or 0, 1), "uri": ti.xcom_pull(task_ids=ti.task_id)} for ti in run.get_task_instances()}
    print("RESULT", json.dumps({
        "run_id": run.run_id, "run_state": str(run.state),
        "interval": [run.data_interval_start.isoformat(), run.data_interval_end.isoformat()], "tasks": tasks,
    }))
exit_now(0)  # the components ran TFT in this process
"""


def write_daily_spans(root: Path) -> str:
    """The sample's training rows as two daily spans, 2026-01-01 and 2026-01-02."""
    lines = CENSUS_SAMPLE_TRAIN.read_text().splitlines(keepends=True)
    for day, rows in (("2026-01-01", lines[:300]), ("2026-01-02", lines[300:])):
        (root / day).mkdir(parents=True)
        (root / day / "train.csv").write_text("".join(rows))
    return str(root / "{YYYY}-{MM}-{DD}" / "*.csv")


@pytest.mark.e2e
def test_two_consecutive_intervals_give_two_runs_each_on_its_spans(tmp_path):
    pattern = write_daily_spans(tmp_path / "spans")
    env = airflow_env(tmp_path)
    migrate = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    overrides = [
        *SMALL_CENSUS_OVERRIDES, "tuner.max_trials=0", "trainer.ensemble_size=1", "compact_export.enabled=false",
        f"data.train_file={pattern}", "data.rolling_spans=2", "transform.analyzer_cache=true",
        # A 300-row day has a 30-row eval split: the share of unknown values moves past the
        # reviewed presence bounds, and the histograms past the drift bounds, by sampling
        # noise alone. Validation is tested on its own; this test is about intervals.
        'validation.warn_only=["capital_gain", "education_num", "occupation", "workclass"]', "validation.drift=false",
    ]
    # A manual run of a daily DAG covers the day before its logical date: 2026-01-01, then 2026-01-02.
    completed = run_python(
        RUN_INTERVALS, str(ROOT), json.dumps(overrides), "true", "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00",
        env=env, timeout=1200,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    first, second = (json.loads(line[len("RESULT "):]) for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    runs = tmp_path / "sluice_home" / "artifacts" / "census"
    sealed = {p: p.stat().st_mtime_ns for p in runs.glob("*/*/artifact.json")}

    # The second interval again, nothing changed: every task finds its finished artifact.
    completed = run_python(RUN_INTERVALS, str(ROOT), json.dumps(overrides), "false", "2026-01-03T00:00:00+00:00", env=env, timeout=1200)
    assert completed.returncode == 0, completed.stderr[-5000:]
    [again] = (json.loads(line[len("RESULT "):]) for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    assert {p: p.stat().st_mtime_ns for p in runs.glob("*/*/artifact.json")} == sealed  # nothing rewritten
    assert again["tasks"]["pusher"]["uri"] == second["tasks"]["pusher"]["uri"]
    [rerun_pid] = (int(line.split()[1]) for line in completed.stdout.splitlines() if line.startswith("PID "))
    reuses = MetadataStore(tmp_path / "sluice_home" / STORE_FILE).rows(executions.select().where(executions.c.status == REUSED))
    assert len(reuses) == len(again["tasks"]) and {row.pid for row in reuses} == {rerun_pid}  # found without a child
    for run in (first, second, again):
        print(f"\n{run['run_id']}  interval {run['interval'][0]} .. {run['interval'][1]}  {run['run_state']}")
        for task, info in run["tasks"].items():
            print(f"  {task:<18} {info['state']:<8} {info['seconds']:6.1f} s  {info['uri']}")
        assert run["run_state"] == "success" and {t["state"] for t in run["tasks"].values()} == {"success"}

    assert sorted(p.name for p in runs.iterdir()) == [
        "20260101T000000-20260102T000000__manual", "20260102T000000-20260103T000000__manual",
    ]

    def properties(run: str, component: str) -> dict:
        return json.loads((runs / run / component / "artifact.json").read_text())["properties"]

    first_examples = properties("20260101T000000-20260102T000000__manual", "example_gen")
    second_examples = properties("20260102T000000-20260103T000000__manual", "example_gen")
    assert first_examples["spans"] == [20454]
    assert second_examples["spans"] == [20454, 20455]  # its day, and the one before (rolling window of 2)
    assert [(Path(s["file"]).parent.name, s["span"]) for s in second_examples["sources"] if s.get("span")] == [
        ("2026-01-01", 20454), ("2026-01-02", 20455),
    ]
    for run in runs.iterdir():  # each interval's model is pushed
        pushed = properties(run.name, "pusher")
        assert pushed["pushed"] is True and (Path(pushed["pushed_to"]) / "saved_model.pb").exists()
    transform = properties("20260102T000000-20260103T000000__manual", "transform")
    print("\nsecond interval's Transform:", json.dumps({k: v for k, v in transform.items() if "cache" in k}, indent=1))
    cache = transform["analyzer_cache"]
    assert cache["reused_spans"] and cache["reused_from"].startswith(str(runs / "20260101T000000-20260102T000000__manual"))
