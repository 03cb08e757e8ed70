"""WindowFeatures: (entity, timestamp, value) events -> per-entity window aggregates as examples.

Reads CSV files of `entity,timestamp,value` lines (timestamp in seconds since the epoch)
and writes one tf.Example per entity and window (entity, window_start, window_end, count,
mean, min, max) as an Examples artifact with the single split "aggregates", so the
features can be validated (StatisticsGen) and joined to a pipeline's rows by entity and
time. The aggregation is `sluice.beam.windows.WindowAggregates`, the same on a stream.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from components.example_gen.artifact import Examples, ExampleSplit
from sluice.artifacts import Artifact, ArtifactDraft
from sluice.contract import ComponentSpec

SPLIT = "aggregates"
_METRICS_NAMESPACE = "window_features"


@dataclasses.dataclass(frozen=True)
class Params:
    """WindowFeatures' parameters.

    Args:
        events: glob of event CSV files.
        size_seconds: window length.
        period_seconds: sliding windows start this often (None: fixed windows).
        allowed_lateness_seconds: for streams: how late an event may arrive and still count.
    """

    events: str
    size_seconds: float
    period_seconds: float | None = None
    allowed_lateness_seconds: float = 0


def _encode(aggregate) -> bytes:
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    features = example.features.feature
    features["entity"].bytes_list.value.append(aggregate.entity.encode("utf-8"))
    for name in ("window_start", "window_end", "mean", "min", "max"):
        features[name].float_list.value.append(getattr(aggregate, name))
    features["count"].int64_list.value.append(aggregate.count)
    return example.SerializeToString()


def _counted(aggregate):
    from apache_beam.metrics import Metrics

    Metrics.counter(_METRICS_NAMESPACE, "aggregates").inc()
    return aggregate


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import apache_beam as beam

    from sluice.beam.jobs import new_pipeline, run_and_count
    from sluice.beam.windows import WindowAggregates, parse_event

    pipeline = new_pipeline(beam_args)
    _ = (
        pipeline
        | "ReadEvents" >> beam.io.ReadFromText(params.events)
        | "ParseEvents" >> beam.Map(parse_event)
        | "Aggregate" >> WindowAggregates(params.size_seconds, params.period_seconds, params.allowed_lateness_seconds)
        | "Count" >> beam.Map(_counted)
        | "EncodeExamples" >> beam.Map(_encode)
        | "WriteExamples" >> beam.io.WriteToTFRecord(output.file(SPLIT, "data"), file_name_suffix=".tfrecord")
    )
    counters = run_and_count(pipeline, _METRICS_NAMESPACE)
    Examples(splits={SPLIT: ExampleSplit(rows=counters.get("aggregates", 0), pattern=f"{SPLIT}/data-*.tfrecord")}).write(output)
    output.properties["windows"] = {"size_seconds": params.size_seconds, "period_seconds": params.period_seconds}


SPEC = ComponentSpec(run=run, params=Params, output=Examples)
