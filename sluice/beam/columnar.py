"""Reading ExampleGen's Parquet copy as the record batches TFDV and TFT take."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
import pyarrow as pa

from sluice.data.feature_lists import as_feature_lists


class RecordBatchCoder(beam.coders.Coder):
    """Arrow IPC for record batches, sized by `nbytes`.

    Beam samples the size of elements on every edge of a pipeline, always the first ten,
    by encoding them; a few dozen batches of 50,000 rows each cost as much to encode as
    the statistics cost to compute. `nbytes` gives that size without a copy.
    """

    def encode(self, batch: pa.RecordBatch) -> bytes:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        return sink.getvalue().to_pybytes()

    def decode(self, encoded: bytes) -> pa.RecordBatch:
        return pa.ipc.open_stream(encoded).read_next_batch()

    def estimate_size(self, batch: pa.RecordBatch) -> int:
        return batch.nbytes

    def to_type_hint(self):
        return pa.RecordBatch


def _use_record_batch_coder() -> None:
    # Registered when a pipeline is built, after TFDV has registered its own coder for the
    # type on import.
    beam.coders.registry.register_coder(pa.RecordBatch, RecordBatchCoder)


def _read_row_groups(readable_file, schema: pa.Schema | None):
    import pyarrow.parquet as pq

    with readable_file.open() as handle:
        parquet = pq.ParquetFile(handle)
        for index in range(parquet.num_row_groups):
            yield as_feature_lists(parquet.read_row_group(index), schema)


class ReadColumnarCopy(beam.PTransform):
    """Parquet files matching `pattern` -> PCollection[pa.RecordBatch], one per row group,
    each column a list per row (see `as_feature_lists`); with `schema`, its columns."""

    def __init__(self, pattern: str, schema: pa.Schema | None = None):
        super().__init__()
        self._pattern = pattern
        self._schema = schema

    def expand(self, pipeline):
        _use_record_batch_coder()
        return (
            pipeline
            | "MatchFiles" >> fileio.MatchFiles(self._pattern)
            | "SpreadFiles" >> beam.Reshuffle()
            | "OpenFiles" >> fileio.ReadMatches()
            | "ReadRowGroups" >> beam.FlatMap(_read_row_groups, self._schema).with_output_types(pa.RecordBatch)
        )


def _is_record_batch_pair(element_type) -> bool:
    from apache_beam.typehints import typehints

    return (
        isinstance(element_type, typehints.TupleConstraint)
        and len(element_type.tuple_types) == 2
        and element_type.tuple_types[1] is pa.RecordBatch
    )


class _RecordBatchEdges(beam.pipeline.PipelineVisitor):
    def visit_transform(self, node) -> None:
        from apache_beam.typehints import typehints

        if not node.inputs or not _is_record_batch_pair(node.inputs[0].element_type):
            return
        key = node.inputs[0].element_type.tuple_types[0]
        fn = getattr(node.transform, "fn", None)
        outputs = node.outputs
        if type(fn).__name__ == "SplitHotCold":
            outputs[None].element_type = typehints.Tuple[key, typehints.Tuple[bool, pa.RecordBatch]]
            outputs["hot"].element_type = typehints.Tuple[typehints.Any, pa.RecordBatch]
        elif type(fn).__name__ == "WindowIntoFn" and outputs[None].element_type in (None, typehints.Any):
            outputs[None].element_type = node.inputs[0].element_type


def type_record_batch_edges(pipeline) -> None:
    """Gives (key, record batch) edges inside Beam's hot-key fan-out their element type.

    TFDV combines record batches keyed by slice with `with_hot_key_fanout`, whose
    internal edges carry no type. Beam then sizes their elements with its pickle fallback,
    copying each sampled batch (about 0.5 GB per 1M rows of census); typed, they are sized
    by `RecordBatchCoder.estimate_size`. Call after building `pipeline`, before running it.
    """
    _use_record_batch_coder()
    pipeline.visit(_RecordBatchEdges())
