"""Record batches on Beam edges: typed inside hot-key fan-out, and still correct."""

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.testing.util import assert_that, equal_to

from sluice.beam.jobs import pipeline_options
from sluice.beam.patches.record_batch_coder import RecordBatchCoder, type_record_batch_edges
from tests.sluice.beam.library_patches_probe import CountRows


def _batch(rows: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(range(rows))], ["x"])


def _fan_in_edges(pipeline) -> dict:
    found = {}

    class Visitor(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            fn = type(getattr(node.transform, "fn", None)).__name__
            if fn == "SplitHotCold" or (fn == "WindowIntoFn" and "WindowIntoDiscarding" in node.full_label):
                for tag, output in node.outputs.items():
                    found[f"{node.full_label}[{tag}]"] = output.element_type

    pipeline.visit(Visitor())
    return found


@pytest.mark.beam
def test_hot_key_fanout_edges_carry_record_batches_typed_and_count_every_row():
    pipeline = beam.Pipeline(options=pipeline_options())
    counts = (
        pipeline
        | beam.Create([3, 4, 5])
        | beam.Map(_batch).with_output_types(pa.RecordBatch)
        | beam.Map(lambda batch: ("all", batch)).with_output_types(beam.typehints.Tuple[str, pa.RecordBatch])
        | beam.CombinePerKey(CountRows()).with_hot_key_fanout(4)
    )
    assert_that(counts, equal_to([("all", 12)]))
    type_record_batch_edges(pipeline)

    edges = _fan_in_edges(pipeline)
    assert len(edges) == 3, edges  # the split's two outputs and the window step after it
    for label, element_type in edges.items():
        assert pa.RecordBatch in getattr(element_type, "tuple_types", ()) or any(
            pa.RecordBatch in getattr(inner, "tuple_types", ()) for inner in getattr(element_type, "tuple_types", ())
        ), (label, element_type)
    pipeline.run().wait_until_finish()


def test_record_batch_coder_round_trips_and_sizes_without_copying():
    batch = _batch(1000)
    coder = RecordBatchCoder()
    assert coder.decode(coder.encode(batch)).equals(batch)
    assert coder.estimate_size(batch) == batch.nbytes
