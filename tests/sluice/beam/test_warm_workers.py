"""DirectRunner multi_processing on workers started with the pipeline (sluice.beam.warm_workers)."""

import gc
import json
import os
import subprocess
import sys
import time

import apache_beam as beam
import pytest
from apache_beam.metrics import Metrics

from sluice.beam.jobs import new_pipeline, pipeline_options, run_and_count
from sluice.beam.warm_workers import warm_workers_runner
from tests.helpers import ROOT

pytestmark = pytest.mark.beam

MULTI_PROCESSING_2 = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
NAMESPACE = "warm_workers_test"
# Imported by no part of Beam: present in a worker only if the worker imported it first.
MARKER_MODULE = "xml.dom.minidom"


class _Record(beam.DoFn):
    """Counts elements, the processes that saw them, and whether MARKER_MODULE was there."""

    def process(self, element):
        Metrics.counter(NAMESPACE, "elements").inc()
        Metrics.counter(NAMESPACE, f"pid_{os.getpid()}").inc()
        if MARKER_MODULE in sys.modules:
            Metrics.counter(NAMESPACE, "marker_imported").inc()
        yield element


class _FailOn(beam.DoFn):
    def process(self, element):
        if element == 7:
            raise ValueError("element 7 is bad")
        yield element


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_until_gone(pids, seconds: float = 30.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [pid for pid in pids if _alive(pid)]


def _count_elements(pipeline):
    _ = pipeline | beam.Create(range(40)) | beam.Reshuffle() | beam.ParDo(_Record())
    return run_and_count(pipeline, NAMESPACE)


def test_every_bundle_runs_in_a_worker_started_with_the_pipeline_and_the_workers_end():
    pipeline = new_pipeline(MULTI_PROCESSING_2, worker_imports=[MARKER_MODULE])
    started = pipeline.runner.workers.pids
    assert len(set(started)) == 2 and os.getpid() not in started

    counters = _count_elements(pipeline)

    assert counters["elements"] == 40
    ran_in = {int(name.removeprefix("pid_")) for name in counters if name.startswith("pid_")}
    assert ran_in and ran_in <= set(started)
    # The workers had imported the step's libraries before their first element.
    assert counters["marker_imported"] == 40
    assert _wait_until_gone(started) == []
    assert not os.path.exists(pipeline.runner.workers.directory)


def test_a_slot_with_no_warm_worker_left_gets_beams_own_worker():
    runner = warm_workers_runner(1)
    pipeline = beam.Pipeline(runner=runner, options=pipeline_options(MULTI_PROCESSING_2))

    counters = _count_elements(pipeline)

    assert counters["elements"] == 40
    assert _wait_until_gone(runner.workers.pids) == []


def test_a_failing_dofn_fails_the_job_with_its_error_and_ends_the_workers():
    pipeline = new_pipeline(MULTI_PROCESSING_2)
    started = pipeline.runner.workers.pids
    _ = pipeline | beam.Create(range(10)) | beam.Reshuffle() | beam.ParDo(_FailOn())

    with pytest.raises(Exception, match="element 7 is bad"):
        run_and_count(pipeline, NAMESPACE)
    assert _wait_until_gone(started) == []


def test_workers_of_a_pipeline_that_never_runs_end_with_it():
    pipeline = new_pipeline(MULTI_PROCESSING_2)
    started = pipeline.runner.workers.pids
    del pipeline
    gc.collect()
    assert _wait_until_gone(started) == []


def test_workers_end_when_the_process_that_started_them_dies_without_cleaning_up():
    child = (
        "import json, sys\n"
        "from sluice.beam.jobs import new_pipeline\n"
        "from sluice.process import exit_now\n"
        f"pipeline = new_pipeline({MULTI_PROCESSING_2!r})\n"
        "print(json.dumps([pipeline.runner.workers.directory, pipeline.runner.workers.pids]), flush=True)\n"
        "exit_now(0)\n"
    )
    completed = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=120)
    directory, orphans = json.loads(completed.stdout.strip().splitlines()[-1])
    assert len(orphans) == 2
    assert _wait_until_gone(orphans, seconds=60) == []
    assert not os.path.exists(directory)
