"""The `sluice` console script as a user runs it: real processes, real exit codes."""

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import CENSUS_SAMPLE_TEST, CENSUS_SAMPLE_TRAIN, ROOT, SMALL_CENSUS_OVERRIDES
from tests.test_console_output import assert_quiet_console

SLUICE = str(Path(sys.executable).parent / "sluice")


def sluice(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([SLUICE, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_help_lists_the_commands_and_list_names_the_pipelines():
    help_text = sluice("--help").stdout
    for command in ("run", "list", "predict"):
        assert command in help_text
    assert "census" in sluice("list").stdout.split()


def test_run_exits_zero_and_passes_beam_options_to_every_beam_step(tmp_path):
    overrides = [arg for setting in SMALL_CENSUS_OVERRIDES for arg in ("-o", setting)]
    completed = sluice(
        "run", "census", "--home", str(tmp_path), *overrides, "-o", "tuner.max_trials=1",
        "--direct_running_mode=multi_processing", "--direct_num_workers=2",
    )
    # TFT work crashes a normal interpreter exit (139); the CLI must report the real outcome.
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = completed.stdout
    for component in ("example_gen", "statistics_gen", "transform", "trainer", "evaluator", "pusher"):
        assert component in out
    assert "Test metrics (300 examples): accuracy=" in out
    assert f"Pushed SavedModel: {tmp_path}/serving/census/" in out
    assert "P(income_bracket = >50K) = " in out and "actual: <=50K" in out

    (run_dir,) = (tmp_path / "artifacts" / "census").iterdir()
    assert_quiet_console(completed, run_dir)
    properties = {}
    for component in ("example_gen", "statistics_gen", "transform"):
        properties[component] = json.loads((run_dir / component / "artifact.json").read_text())["properties"]
        assert "--direct_running_mode=multi_processing" in properties[component]["beam_args"]
        assert "--direct_num_workers=2" in properties[component]["beam_args"]
    # Under multi_processing too, every stage saw exactly the rows ExampleGen wrote.
    for split, info in properties["example_gen"]["splits"].items():
        assert properties["statistics_gen"]["splits"][split]["num_examples"] == info["rows"]
        assert properties["transform"]["splits"][split]["rows"] == info["rows"]
    assert properties["example_gen"]["rows"] == {"read": 900, "written": 900, "rejected": 0}


def test_bad_input_exits_one_with_file_row_and_column(tmp_path):
    lines = CENSUS_SAMPLE_TRAIN.read_text().splitlines(keepends=True)
    lines[9] = lines[9].replace(" 40,", " many,", 1)
    bad = tmp_path / "bad.data"
    bad.write_text("".join(lines))
    completed = sluice("run", "census", "--home", str(tmp_path / "home"), "-o", f"data.train_file={bad}")
    assert completed.returncode == 1
    assert f"{bad}, row 10, column 'hours_per_week': 'many' is not an integer" in completed.stderr
    assert "Traceback" not in completed.stderr
    (run_dir,) = (tmp_path / "home" / "artifacts" / "census").iterdir()
    assert sorted(p.name for p in run_dir.iterdir()) == ["example_gen.rejects.jsonl", "sluice.log"]  # no artifact


def test_validate_exits_zero_on_clean_serving_rows_and_one_on_skew(census_run, tmp_path):
    config, _ = census_run
    rows = [line.rsplit(",", 1)[0] for line in CENSUS_SAMPLE_TEST.read_text().splitlines() if not line.startswith("|")]
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join(rows) + "\n")
    warn_only = ["-o", 'validation.warn_only=["capital_gain", "education_num"]']
    completed = sluice("validate", "census", "--home", config.home, "--serving", str(clean), *warn_only)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "No blocking finding" in completed.stdout and "report.html" in completed.stdout

    older = tmp_path / "older.csv"
    older.write_text("\n".join(str(int(r.split(",", 1)[0]) + 20) + "," + r.split(",", 1)[1] for r in rows) + "\n")
    completed = sluice("validate", "census", "--home", config.home, "--serving", str(older), *warn_only)
    assert completed.returncode == 1
    assert "split 'serving', feature 'age': skew, Jensen-Shannon divergence" in completed.stderr
    assert "Traceback" not in completed.stderr
