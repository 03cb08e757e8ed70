"""What a person sees of a run: Sluice's lines and progress on the console, the libraries'
output (TensorFlow, Beam, TFDV, ...) in the run's log file unless --verbose."""

import io
import subprocess
import time
from pathlib import Path

import pytest

from sluice import progress
from tests.helpers import CENSUS_SAMPLE_TEST, CENSUS_SAMPLE_TRAIN, sluice

# Lines TensorFlow, XLA, TF-DF, TFDV, absl and Google's client libraries write while a run works.
LIBRARY_NOISE = (
    "factory for plugin",  # Unable to register cuDNN/cuFFT/cuBLAS factory
    "TensorRT",
    "oneDNN",
    "cuda",
    "Unable to import IPython",
    "FutureWarning",
    "[INFO",
    "[WARNING",
    "absl",
    "rendezvous",
)


def assert_quiet_console(completed: subprocess.CompletedProcess, run_dir: Path) -> None:
    """A finished `sluice run` with piped output: Sluice's lines and plain progress, no
    library line and no terminal escape; the libraries' lines, children's too, in the log."""
    console = completed.stdout + completed.stderr
    assert not [noise for noise in LIBRARY_NOISE if noise.lower() in console.lower()], console[-3000:]
    assert "\x1b" not in console  # piped: no colours, no cursor movement
    log = run_dir / "sluice.log"
    assert f"Libraries' output (TensorFlow, Beam, ...): {log}" in completed.stdout
    assert "Test metrics (" in completed.stdout and "Pushed SavedModel: " in completed.stdout
    # Plain progress, one line per Beam job, trial and trained model.
    assert "    example_gen: Beam job: 900 rows in " in completed.stderr
    assert "    transform: Beam job: 900 rows in " in completed.stderr
    assert "    tuner: 1 of " in completed.stderr and "best log_loss " in completed.stderr
    assert "    trainer: model 1 of " in completed.stderr
    logged = log.read_text()
    assert "Unable to import IPython" in logged  # TFDV, from Python
    # TensorFlow's import notice, from native code, once per process: the trials' and
    # baselines' child processes wrote to the log too.
    assert logged.count("Unable to register cuDNN factory") >= 2


def _bad_sample(tmp_path: Path) -> Path:
    lines = CENSUS_SAMPLE_TRAIN.read_text().splitlines(keepends=True)
    lines[9] = lines[9].replace(" 40,", " many,", 1)
    bad = tmp_path / "bad.data"
    bad.write_text("".join(lines))
    return bad


def _run_on(data: Path, home: Path, *flags: str) -> subprocess.CompletedProcess:
    return sluice("run", "census", "--home", str(home), "-o", f"data.train_file={data}", "-o", f"data.test_file={CENSUS_SAMPLE_TEST}", *flags)


@pytest.mark.beam
def test_a_failing_run_shows_its_error_and_log_path_and_verbose_shows_it_in_place_of_a_log(tmp_path):
    bad = _bad_sample(tmp_path)
    quiet = _run_on(bad, tmp_path / "quiet")
    assert quiet.returncode == 1
    (run_dir,) = (tmp_path / "quiet" / "artifacts" / "census").iterdir()
    assert f"{bad}, row 10, column 'hours_per_week': 'many' is not an integer" in quiet.stderr
    assert f"full log: {run_dir / 'sluice.log'}" in quiet.stderr
    assert "Traceback" not in quiet.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == ["example_gen.rejects.jsonl", "sluice.log"]  # no artifact
    assert "    example_gen: Beam job: 900 rows in " in quiet.stderr
    assert not [noise for noise in LIBRARY_NOISE if noise.lower() in (quiet.stdout + quiet.stderr).lower()], quiet.stderr
    logged = (run_dir / "sluice.log").read_text()
    assert "'many' is not an integer" in logged  # the error; the libraries' lines are checked on a finished run

    verbose = _run_on(bad, tmp_path / "verbose", "--verbose")
    assert verbose.returncode == 1
    assert "'many' is not an integer" in verbose.stderr and "full log:" not in verbose.stderr
    (run_dir,) = (tmp_path / "verbose" / "artifacts" / "census").iterdir()
    assert not (run_dir / "sluice.log").exists()


def test_plain_progress_is_one_line_per_finished_step_or_per_trial():
    shown = io.StringIO()
    with progress.shown_by(progress.display_for(shown, live=True)):  # not a terminal: plain
        with progress.task("tuner", total=3, unit="trials", lines="each", completed=1) as trials:
            trials.advance(note="best log_loss 0.4100 (trial 1, dnn)")
            assert trials.seconds_left() is not None  # paced by the trial run here, not the resumed one
            trials.advance(note="best log_loss 0.4000 (trial 2, linear)")
        with progress.task("transform: Beam job", unit="rows") as job:
            job.update(completed=48842)
        with progress.task("statistics_gen: Beam job", unit="rows"):
            pass
        with progress.task("census", total=10, unit="components", lines="none"):
            pass
    lines = shown.getvalue().splitlines()
    assert [line.split(" in ")[0] for line in lines] == [
        "    tuner: 2 of 3 trials",
        "    tuner: 3 of 3 trials",
        "    transform: Beam job: 48,842 rows",
        "    statistics_gen: Beam job",
    ]
    assert lines[0].endswith(" left") and "best log_loss 0.4100 (trial 1, dnn)" in lines[0]
    assert lines[1].endswith("best log_loss 0.4000 (trial 2, linear)")  # finished: no time left shown


def test_the_time_left_never_goes_past_the_deadline():
    with progress.task("tuner", total=100, unit="trials", deadline=time.monotonic() + 60) as trials:
        time.sleep(0.05)
        trials.advance()  # at this pace 99 more trials take about 5 s: the pace rules
        assert 0 < trials.seconds_left() < 30
    with progress.task("tuner", total=100, unit="trials", deadline=time.monotonic() + 1) as trials:
        time.sleep(0.05)
        trials.advance()  # at this pace 99 more take about 5 s, but the budget ends in 1 s
        assert trials.seconds_left() <= 1


def test_without_a_display_progress_shows_nothing(capsys):
    with progress.task("trainer", total=5, unit="steps") as steps:
        steps.advance()
    assert capsys.readouterr() == ("", "")
