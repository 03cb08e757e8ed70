"""Shared fixtures, test tiers, and the exit-code guard for TFT.

A process that ran a TFT pipeline crashes at interpreter exit (SIGSEGV, exit code 139)
after all work is done. pytest's own exit status is kept here and the process leaves
through os._exit before that teardown, so 0 still means every test passed and 1 that
one failed.

Tiers: a test that reads the shared census run is marked `e2e` and runs in the
`census_run` group (one worker computes that run once, under pytest-xdist too);
`make test-fast` deselects `e2e` and `beam`.
"""

from __future__ import annotations

import os
import sys

import pytest

from tests.helpers import run_small_census

_exit_status = {"code": 0}
SHARED_RUN_FIXTURES = {"census_run", "artifact"}


def pytest_sessionfinish(session, exitstatus):
    _exit_status["code"] = int(exitstatus)


def pytest_unconfigure(config):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status["code"])


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if SHARED_RUN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("census_run"))
    # The longest work first, so two workers finish together: the shared run's group,
    # then whole pipeline runs, then Beam jobs, then the rest (each in collection order).
    items.sort(key=lambda item: (
        item.get_closest_marker("xdist_group") is None,
        item.get_closest_marker("e2e") is None,
        item.get_closest_marker("beam") is None,
    ))


@pytest.fixture(scope="session")
def census_run(tmp_path_factory):
    """One `sluice run census` on the sample data, shared by the tests that read its artifacts."""
    return run_small_census(tmp_path_factory.mktemp("census_home"))


@pytest.fixture
def artifact(census_run):
    """Loads an artifact of the shared run by component name."""
    from sluice.artifacts import read_artifact

    return lambda component: read_artifact(census_run.result.uri(component))
