"""Record batches on Beam edges: Sluice's coder in place of TFDV's, and typed hot-key edges.

Beam samples the size of elements on every edge of a pipeline, always the first ten, by
encoding them. TFDV registers a coder for `pa.RecordBatch` (on import) that has no cheap
size estimate, so a few dozen batches of 50,000 rows cost as much to encode as the
statistics cost to compute; `RecordBatchCoder` answers with `nbytes`. And TFDV combines
record batches keyed by slice with `with_hot_key_fanout`, whose internal edges carry no
type: Beam then sizes their elements with its pickle fallback, copying each sampled batch
(about 0.5 GB per 1M rows of census). `type_record_batch_edges` types them, by the names
of Beam's internal DoFns (`SplitHotCold`, `WindowIntoFn`), which is why this is gated to
the versions it was tested with (`sluice.beam.patches`).
"""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa


class RecordBatchCoder(beam.coders.Coder):
    """Arrow IPC for record batches, sized by `nbytes`."""

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


def install() -> None:
    """Registers `RecordBatchCoder` for `pa.RecordBatch`; again after TFDV's import has
    registered its own, so call it once the job is built."""
    beam.coders.registry.register_coder(pa.RecordBatch, RecordBatchCoder)


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
    """Gives (key, record batch) edges inside Beam's hot-key fan-out their element type,
    so `RecordBatchCoder.estimate_size` sizes them. Call after building `pipeline`."""
    pipeline.visit(_RecordBatchEdges())
