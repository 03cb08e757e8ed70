"""Test data and settings shared by several test modules."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUICE = str(Path(sys.executable).parent / "sluice")
CENSUS_SAMPLE_TRAIN = ROOT / "tests" / "data" / "census" / "adult_sample.data"
CENSUS_SAMPLE_TEST = ROOT / "tests" / "data" / "census" / "adult_sample.test"
# A few hundred rows and a few steps: every stage runs for real, in seconds.
SMALL_CENSUS_OVERRIDES = (
    f"data.train_file={CENSUS_SAMPLE_TRAIN}",
    f"data.test_file={CENSUS_SAMPLE_TEST}",
    "tuner.families=null",  # every family: the networks' paths stay tested too
    "tuner.max_trials=2",
    "tuner.trial_steps=5",
    "trainer.train_steps=30",
    "trainer.batch_size=64",
    "trainer.ensemble_size=2",
    "min_accuracy=0",
)
# Beam options of the shared run: each Beam step must record them.
SHARED_RUN_BEAM_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


def free_port() -> int:
    """A loopback port free now (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def small_census_config(home: Path, *extra: str):
    from pipelines.census.pipeline import CensusConfig
    from sluice.config import apply_overrides

    return apply_overrides(CensusConfig(home=str(home)), SMALL_CENSUS_OVERRIDES + extra)


def sluice(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """The `sluice` console script as a user runs it, from the repository root."""
    return subprocess.run([SLUICE, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def as_options(overrides) -> list[str]:
    return [arg for setting in overrides for arg in ("-o", setting)]


@dataclasses.dataclass(frozen=True)
class CensusRun:
    """A finished `sluice run census`: its settings, artifacts and console output."""

    config: object
    result: object  # sluice.runner.RunResult
    completed: subprocess.CompletedProcess

    def __iter__(self):  # `config, result = census_run`
        return iter((self.config, self.result))


def run_small_census(home: Path) -> CensusRun:
    """`sluice run census` on the sample data, in a child process as a user runs it."""
    from pipelines.census.pipeline import create_pipeline
    from sluice.execute import Outcome
    from sluice.runner import RunResult

    config = small_census_config(home)
    completed = sluice("run", "census", "--home", str(home), "--run-id", "shared", *as_options(SMALL_CENSUS_OVERRIDES), *SHARED_RUN_BEAM_ARGS)
    # TFT work crashes a normal interpreter exit (139); the CLI must report the real outcome.
    assert completed.returncode == 0, completed.stderr[-3000:]
    run_dir = Path(config.artifact_root) / "census" / "shared"
    outcomes = tuple(
        Outcome(component.name, str(run_dir / component.name), 0.0, reused=False)
        for component in create_pipeline(config).components
    )
    assert all(Path(o.uri, "artifact.json").exists() for o in outcomes), sorted(p.name for p in run_dir.iterdir())
    return CensusRun(config, RunResult("census", "shared", str(run_dir), outcomes), completed)
