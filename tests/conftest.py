"""Shared fixtures, and the exit-code guard for TFT.

A process that ran a TFT pipeline crashes at interpreter exit (SIGSEGV, exit code 139)
after all work is done. pytest's own exit status is kept here and the process leaves
through os._exit before that teardown, so 0 still means every test passed and 1 that
one failed.
"""

from __future__ import annotations

import os
import sys

import pytest

from tests.helpers import small_census_config

_exit_status = {"code": 0}


def pytest_sessionfinish(session, exitstatus):
    _exit_status["code"] = int(exitstatus)


def pytest_unconfigure(config):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status["code"])


@pytest.fixture(scope="session")
def census_run(tmp_path_factory):
    """One real run of the census pipeline on the sample data, shared by the component tests."""
    from pipelines.census.pipeline import create_pipeline
    from sluice.runner import run_pipeline

    config = small_census_config(tmp_path_factory.mktemp("census_home"))
    result = run_pipeline(create_pipeline(config), config.artifact_root)
    return config, result


@pytest.fixture
def artifact(census_run):
    """Loads an artifact of the shared run by component name."""
    from sluice.artifacts import read_artifact

    _, result = census_run
    return lambda component: read_artifact(result.uri(component))
