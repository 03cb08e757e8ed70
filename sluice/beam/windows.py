"""Window aggregation: (entity, timestamp, value) events -> per-entity window features.

One PTransform for bounded and unbounded input alike: events are stamped with their own
event time, windowed (fixed or sliding), and combined per entity into count, mean, min
and max. A window fires when the watermark passes its end and fires again, with the
late events included, for each event that arrives within the allowed lateness; later
events are dropped. On a bounded read the watermark only moves at the end, so each
window fires once, with every event: the same numbers the last firing gives on a stream.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

import apache_beam as beam
from apache_beam.transforms import trigger, window


@dataclasses.dataclass(frozen=True)
class Event:
    entity: str
    timestamp: float  # seconds since the epoch
    value: float


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """count/mean/min/max of one entity's values in one window [window_start, window_end)."""

    entity: str
    window_start: float
    window_end: float
    count: int
    mean: float
    min: float
    max: float


class _Stats(beam.CombineFn):
    """(count, sum, min, max), mergeable."""

    def create_accumulator(self):
        return 0, 0.0, float("inf"), float("-inf")

    def add_input(self, accumulator, value):
        count, total, low, high = accumulator
        return count + 1, total + value, min(low, value), max(high, value)

    def merge_accumulators(self, accumulators: Iterable):
        count, total, low, high = self.create_accumulator()
        for c, t, lo, hi in accumulators:
            count, total, low, high = count + c, total + t, min(low, lo), max(high, hi)
        return count, total, low, high

    def extract_output(self, accumulator):
        return accumulator


def _stamp(event) -> window.TimestampedValue:
    event = event if isinstance(event, Event) else Event(*event)
    return window.TimestampedValue((event.entity, float(event.value)), event.timestamp)


class _ToAggregate(beam.DoFn):
    def process(self, keyed, window=beam.DoFn.WindowParam):
        entity, (count, total, low, high) = keyed
        yield Aggregate(entity, float(window.start), float(window.end), count, total / count, low, high)


class WindowAggregates(beam.PTransform):
    """Events (Event or (entity, timestamp, value)) -> Aggregate per entity and window.

    Args:
        size_seconds: window length.
        period_seconds: for sliding windows, how often a window starts (None: fixed windows).
        allowed_lateness_seconds: how long after a window's end a late event still counts.
    """

    def __init__(self, size_seconds: float, period_seconds: float | None = None, allowed_lateness_seconds: float = 0):
        super().__init__()
        if period_seconds is not None and not 0 < period_seconds <= size_seconds:
            raise ValueError("period_seconds must be within (0, size_seconds]")
        self.size = size_seconds
        self.period = period_seconds
        self.allowed_lateness = allowed_lateness_seconds

    def expand(self, events):
        windows = window.SlidingWindows(self.size, self.period) if self.period else window.FixedWindows(self.size)
        return (
            events
            | "StampEventTime" >> beam.Map(_stamp)
            | "Window"
            >> beam.WindowInto(
                windows,
                trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
                allowed_lateness=self.allowed_lateness,
            )
            | "CountMeanMinMax" >> beam.CombinePerKey(_Stats())
            | "AttachWindow" >> beam.ParDo(_ToAggregate())
        )


def parse_event(line: str) -> Event:
    """"entity,timestamp,value" -> Event."""
    entity, timestamp, value = line.split(",")
    return Event(entity.strip(), float(timestamp), float(value))
