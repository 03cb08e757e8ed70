"""Warm workers keep DirectRunner's routing: a job the FnApiRunner cannot run goes to DirectRunner."""

import apache_beam as beam
import pytest
from apache_beam.metrics import Metrics
from apache_beam.testing.test_stream import TestStream as EventStream  # not collected by pytest
from apache_beam.transforms import userstate, window
from apache_beam.transforms.timeutil import TimeDomain

from sluice.beam.jobs import new_pipeline, run_and_count
from sluice.beam.warm_workers import direct_runner_uses_fn_api_runner

MULTI_PROCESSING_2 = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
NAMESPACE = "routing_test"
CLOCK = userstate.TimerSpec("clock", TimeDomain.REAL_TIME)


class _RecordWindowSums(beam.DoFn):
    def process(self, key_and_sum, window=beam.DoFn.WindowParam):
        key, total = key_and_sum
        Metrics.counter(NAMESPACE, f"{key}@{int(window.start)}={total}").inc()
        yield key_and_sum


class _RealTimeTimer(beam.DoFn):
    def process(self, element, clock=beam.DoFn.TimerParam(CLOCK)):
        yield element

    @userstate.on_timer(CLOCK)
    def on_clock(self):
        return []


def _windowed_sums(pipeline):
    stream = (
        EventStream()
        .add_elements([window.TimestampedValue(("a", 1), 1), window.TimestampedValue(("a", 2), 2)])
        .advance_watermark_to(10)
        .add_elements([window.TimestampedValue(("b", 5), 12), window.TimestampedValue(("a", 4), 15)])
        .advance_watermark_to_infinity()
    )
    _ = (
        pipeline
        | "Events" >> stream
        | "Windows" >> beam.WindowInto(window.FixedWindows(10))
        | "Sum" >> beam.CombinePerKey(sum)
        | "Record" >> beam.ParDo(_RecordWindowSums())
    )
    return run_and_count(pipeline, NAMESPACE)


@pytest.mark.beam
def test_a_test_stream_job_under_multi_processing_runs_as_directrunner_runs_it():
    warm = new_pipeline(MULTI_PROCESSING_2)
    assert hasattr(warm.runner, "workers")  # the warm workers' runner took the job

    expected = {"a@0=3": 1, "a@10=4": 1, "b@10=5": 1}
    assert _windowed_sums(warm) == expected
    assert _windowed_sums(new_pipeline(["--direct_running_mode=in_memory"])) == expected


def test_the_routing_check_follows_directrunners():
    plain = beam.Pipeline()
    _ = plain | beam.Create([1, 2]) | beam.Map(lambda x: x)
    assert direct_runner_uses_fn_api_runner(plain)

    real_time = beam.Pipeline()
    _ = real_time | beam.Create([("k", 1)]) | beam.ParDo(_RealTimeTimer())
    assert not direct_runner_uses_fn_api_runner(real_time)

    test_stream = beam.Pipeline()
    _ = test_stream | EventStream().advance_watermark_to_infinity() | beam.Map(lambda x: x)
    assert not direct_runner_uses_fn_api_runner(test_stream)
