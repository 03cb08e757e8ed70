"""Window aggregates: hand-checked values, and the same numbers from a file and a stream."""

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import TimestampedValue

from sluice.beam.windows import Aggregate, Event, WindowAggregates, parse_event

pytestmark = pytest.mark.beam

EVENTS = [
    Event("a", 1, 10.0), Event("a", 4, 20.0), Event("b", 5, 7.0),   # window [0, 10)
    Event("a", 12, 30.0), Event("b", 15, 1.0), Event("b", 19, 3.0),  # window [10, 20)
]
LATE = Event("a", 8, 60.0)  # belongs to [0, 10), arrives after the watermark passed 10
COLLECTED: dict[str, list] = {}


class _Collect(beam.DoFn):
    def __init__(self, key):
        self.key = key

    def process(self, aggregate, pane=beam.DoFn.PaneInfoParam):
        COLLECTED.setdefault(self.key, []).append((pane.index, aggregate))


def final_panes(key) -> set:
    """The last firing of each (entity, window): what a consumer ends up with."""
    last = {}
    for index, aggregate in COLLECTED[key]:
        slot = (aggregate.entity, aggregate.window_start)
        if slot not in last or index > last[slot][0]:
            last[slot] = (index, aggregate)
    return {aggregate for _, aggregate in last.values()}


def run_bounded(tmp_path, transform, key):
    events_file = tmp_path / "events.csv"
    events_file.write_text("".join(f"{e.entity},{e.timestamp},{e.value}\n" for e in EVENTS + [LATE]))
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory"])) as p:
        _ = p | beam.io.ReadFromText(str(events_file)) | beam.Map(parse_event) | transform | beam.ParDo(_Collect(key))
    return final_panes(key)


def run_stream(transform, key):
    stream = (
        TestStream()
        .advance_watermark_to(0)
        .add_elements([TimestampedValue(e, e.timestamp) for e in EVENTS])
        .advance_watermark_to(25)  # both windows close and fire
        .add_elements([TimestampedValue(LATE, LATE.timestamp)])  # 17 s after its window's end
        .advance_watermark_to_infinity()
    )
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner", "--streaming"])) as p:
        _ = p | stream | transform | beam.ParDo(_Collect(key))
    return final_panes(key)


def test_fixed_windows_count_mean_min_max_per_entity(tmp_path):
    got = run_bounded(tmp_path, WindowAggregates(10), "fixed")
    assert got == {
        Aggregate("a", 0, 10, 3, 30.0, 10.0, 60.0),
        Aggregate("b", 0, 10, 1, 7.0, 7.0, 7.0),
        Aggregate("a", 10, 20, 1, 30.0, 30.0, 30.0),
        Aggregate("b", 10, 20, 2, 2.0, 1.0, 3.0),
    }


def test_sliding_windows_see_an_event_in_each_window_that_covers_it(tmp_path):
    got = run_bounded(tmp_path, WindowAggregates(10, period_seconds=5), "sliding")
    b = sorted((x.window_start, x.count) for x in got if x.entity == "b")
    assert b == [(0.0, 1), (5.0, 1), (10.0, 2), (15.0, 2)]  # b at 5, 15, 19; windows are [start, start + 10)


def test_a_stream_gives_the_same_aggregates_as_a_file_late_event_included(tmp_path):
    bounded = run_bounded(tmp_path, WindowAggregates(10, allowed_lateness_seconds=30), "bounded")
    streamed = run_stream(WindowAggregates(10, allowed_lateness_seconds=30), "stream")
    assert streamed == bounded
    late_panes = [a for index, a in COLLECTED["stream"] if index > 0]
    assert late_panes and late_panes[0].count == 3  # the on-time pane had 2 of a's events; the late one re-fired it


def test_events_later_than_the_allowed_lateness_are_dropped_on_a_stream():
    streamed = run_stream(WindowAggregates(10, allowed_lateness_seconds=5), "too_late")
    first_window_a = next(a for a in streamed if a.entity == "a" and a.window_start == 0)
    assert (first_window_a.count, first_window_a.max) == (2, 20.0)


def test_sliding_period_must_fit_the_window():
    with pytest.raises(ValueError, match="period_seconds"):
        WindowAggregates(10, period_seconds=20)


def test_window_features_component_writes_examples_statistics_can_read(tmp_path):
    import tensorflow as tf

    from sluice.artifacts import read_artifact
    from sluice.execute import execute
    from sluice.pipeline import Component

    events = tmp_path / "events.csv"
    events.write_text("".join(f"{e.entity},{e.timestamp},{e.value}\n" for e in EVENTS))
    features = execute(Component("window_features", "components.window_features:SPEC", params={"events": str(events), "size_seconds": 10}), tmp_path, {})
    artifact = read_artifact(features.uri)
    assert artifact.properties["splits"]["aggregates"]["rows"] == 4
    records = tf.data.TFRecordDataset(tf.io.gfile.glob(artifact.file("aggregates", "data-*.tfrecord")))
    parsed = [tf.train.Example.FromString(r.numpy()).features.feature for r in records]
    b_late = next(f for f in parsed if f["entity"].bytes_list.value == [b"b"] and f["window_start"].float_list.value == [10.0])
    assert b_late["count"].int64_list.value == [2] and b_late["mean"].float_list.value == [2.0]
    statistics = execute(Component("statistics_gen", "components.statistics_gen:SPEC", {"examples": "window_features"}), tmp_path, {"examples": features.uri})
    assert read_artifact(statistics.uri).properties["splits"]["aggregates"]["num_examples"] == 4
