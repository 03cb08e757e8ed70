"""The `sluice` console script as a user runs it: real processes, real exit codes."""

import json
from pathlib import Path

from tests.helpers import CENSUS_SAMPLE_TEST, SHARED_RUN_BEAM_ARGS, sluice
from tests.test_console_output import assert_quiet_console


def test_help_lists_the_commands_and_list_names_the_pipelines():
    help_text = sluice("--help").stdout
    for command in ("run", "list", "predict"):
        assert command in help_text
    assert "census" in sluice("list").stdout.split()


def test_run_exits_zero_prints_its_summary_and_passes_beam_options_to_every_beam_step(census_run):
    config, result = census_run
    out = census_run.completed.stdout
    for component in ("example_gen", "statistics_gen", "transform", "tuner", "trainer", "evaluator", "pusher"):
        assert component in out
    assert "Test metrics (300 examples): accuracy=" in out
    assert f"Pushed SavedModel: {config.home}/serving/census/" in out
    assert "P(income_bracket = >50K) = " in out and "actual: <=50K" in out

    assert_quiet_console(census_run.completed, Path(result.run_dir))
    properties = {}
    for component in ("example_gen", "statistics_gen", "transform"):
        properties[component] = json.loads(open(f"{result.uri(component)}/artifact.json").read())["properties"]
        for arg in SHARED_RUN_BEAM_ARGS:
            assert arg in properties[component]["beam_args"]
    for split, info in properties["example_gen"]["splits"].items():
        assert properties["statistics_gen"]["splits"][split]["num_examples"] == info["rows"]
        assert properties["transform"]["splits"][split]["rows"] == info["rows"]
    assert properties["example_gen"]["rows"] == {"read": 900, "written": 900, "rejected": 0}


def test_validate_exits_zero_on_clean_serving_rows_and_one_on_skew(census_run, tmp_path):
    config, _ = census_run
    rows = [line.rsplit(",", 1)[0] for line in CENSUS_SAMPLE_TEST.read_text().splitlines() if not line.startswith("|")]
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join(rows) + "\n")
    completed = sluice("validate", "census", "--home", config.home, "--serving", str(clean))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "No blocking finding" in completed.stdout and "report.html" in completed.stdout

    older = tmp_path / "older.csv"
    older.write_text("\n".join(str(int(r.split(",", 1)[0]) + 20) + "," + r.split(",", 1)[1] for r in rows) + "\n")
    completed = sluice("validate", "census", "--home", config.home, "--serving", str(older))
    assert completed.returncode == 1
    assert "split 'serving', feature 'age': skew, Jensen-Shannon divergence" in completed.stderr
    assert "Traceback" not in completed.stderr
