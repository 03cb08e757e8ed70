"""Transform: TFT analyze on train (full pass), then transform every split with that graph.

Each split is read from ExampleGen's Parquet copy when there is one (else its TFRecords),
once to analyze and once to transform, so memory stays bounded by the batches in flight.
Writes, inside one artifact, what `tft.TFTransformOutput` reads (transform_fn/,
transformed_metadata/, and the raw metadata under metadata/) plus the transformed
examples of each split under transformed/<split>/ and, by default, their statistics
(post_transform_statistics/<split>/). Given StatisticsGen's artifact of the same examples
as input `statistics`, it keeps those as pre_transform_statistics/<split>/ beside them.

Analyzer cache: when ExampleGen recorded the spans of the analyzed split (one per source
file), each span is analyzed as its own dataset and TFT's per-span analyzer results are
kept in `analyzer_cache/`. The next run copies the entries of the spans it shares with the
previous run's Transform and reads only the spans that are new (or whose analyzers
changed); every split is still transformed in full.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from components.example_gen.artifact import Examples, ExampleSplit, Span
from components.schema_gen import Schema
from sluice.artifacts import Artifact, ArtifactDraft
from sluice.contract import ComponentSpec
from sluice.errors import RowCountMismatch
from sluice.modeling.transform_graph import TransformedSplit, TransformGraph
from sluice.validation.statistics import Statistics

_METRICS_NAMESPACE = "transform"
POST_TRANSFORM_STATISTICS_DIR = "post_transform_statistics"
PRE_TRANSFORM_STATISTICS_DIR = "pre_transform_statistics"
ANALYZER_CACHE_DIR = "analyzer_cache"


@dataclasses.dataclass(frozen=True)
class Params:
    """Transform's parameters.

    Args:
        preprocessing_fn: "module:function" of the pipeline's preprocessing_fn.
        analyze_split: the split whose full pass computes the statistics.
        post_transform_statistics: also compute TFDV statistics of every transformed split
            (post_transform_statistics/<split>/FeatureStats.pb), in the same Beam job.
        batch_size: rows per call of the transform graph (None: TFT chooses).
        analyzer_cache: analyze span by span, reuse the previous run's analysis of spans
            seen before, and keep this run's for the next. Each span and analyzer adds
            Beam stages, so it pays where spans are large and reruns add few of them.
    """

    preprocessing_fn: str
    analyze_split: str = "train"
    post_transform_statistics: bool = True
    batch_size: int | None = None
    analyzer_cache: bool = False


def _encode_examples_fn(split: str):
    """A DoFn: a transformed record batch -> its rows as framed TFRecords of tf.Examples, counting rows of `split`."""
    import apache_beam as beam

    class EncodeExamples(beam.DoFn):
        def __init__(self):
            self._encoder = None
            self._schema = None

        def process(self, batch_and_passthrough, schema):
            from apache_beam.metrics import Metrics
            from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

            from sluice.beam.example_encoding import encode_framed_examples

            if self._schema is not schema:
                self._encoder, self._schema = RecordBatchToExamplesEncoder(schema), schema
            record_batch, _ = batch_and_passthrough
            Metrics.counter(_METRICS_NAMESPACE, f"rows_{split}").inc(record_batch.num_rows)
            yield encode_framed_examples(record_batch, self._encoder)

    return EncodeExamples()


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    import apache_beam as beam
    import pyarrow as pa
    import tensorflow_data_validation as tfdv
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io
    from tfx_bsl.public import tfxio

    from sluice.beam.columnar import ReadColumnarCopy
    from components.schema_gen import load_schema
    from components.transform.analyzer_cache import analyze_spans
    from sluice.beam.tfrecords import WriteFramedTFRecords
    from sluice.beam.jobs import new_pipeline, run_and_count
    from sluice.pipeline import load_object

    examples = inputs["examples"]
    splits = Examples.of(examples).splits
    schema = load_schema(inputs["schema"])
    preprocessing_fn = load_object(params.preprocessing_fn)
    if params.analyze_split not in splits:
        raise ValueError(f"Transform: no split {params.analyze_split!r} to analyze (have {sorted(splits)})")
    # Before the Beam job: statistics of other rows fail the step without its cost.
    pre_transform = _keep_pre_transform_statistics(inputs.get("statistics"), examples, output)

    statistics_imports = ["tensorflow_data_validation"] if params.post_transform_statistics else []
    pipeline = new_pipeline(beam_args, worker_imports=["tensorflow_transform.beam", *statistics_imports])

    def source_of(split: ExampleSplit | Span):
        return tfxio.TFExampleRecord(examples.file(split.pattern), schema=schema, telemetry_descriptors=["sluice", "transform"])

    def read(split: ExampleSplit | Span, label: str):
        """(record batches of the files `split` names, their TensorAdapterConfig), read afresh.

        Reading once to analyze and again to transform keeps memory bounded: nothing waits
        in memory for the analysis to finish, and each worker reads its own files.
        """
        source = source_of(split)
        if split.columnar_pattern:  # ExampleGen's Parquet copy: the same rows, no proto to decode per row
            batches = pipeline | f"Read{label}Columns" >> ReadColumnarCopy(examples.file(split.columnar_pattern), source.ArrowSchema())
        else:
            batches = pipeline | f"Read{label}Examples" >> source.BeamSource()
        return batches, source.TensorAdapterConfig()

    analyzed = splits[params.analyze_split]
    with tft_beam.Context(temp_dir=output.file("_tft_tmp"), desired_batch_size=params.batch_size):
        if params.analyzer_cache and analyzed.spans:
            transform_fn, cache_report = analyze_spans(
                pipeline,
                analyzed.spans,
                lambda span_id, span: read(span, f"AnalyzeSpan{span_id}")[0],
                preprocessing_fn,
                source_of(analyzed).TensorAdapterConfig(),
                cache_dir=output.file(ANALYZER_CACHE_DIR),
                previous_cache_dir=_previous_cache_dir(output),
            )
        else:
            transform_fn, cache_report = read(analyzed, f"Analyze{params.analyze_split.title()}") | "Analyze" >> tft_beam.AnalyzeDataset(preprocessing_fn), None
        transformed = {}
        for name in splits:
            transformed[name], transformed_metadata = (read(splits[name], f"Transform{name.title()}"), transform_fn) | f"Transform{name.title()}" >> (
                tft_beam.TransformDataset(output_record_batches=True)
            )
        _ = transform_fn | "WriteTransformGraph" >> tft_beam.WriteTransformFn(str(output.path))
        schema_view = transformed_metadata.deferred_metadata | "TransformedSchema" >> beam.Map(lambda m: m.schema)
        for name, batches in transformed.items():
            if params.post_transform_statistics:
                _ = (
                    batches
                    | f"Drop{name.title()}Passthrough"
                    >> beam.Map(lambda batch_and_passthrough: batch_and_passthrough[0]).with_output_types(pa.RecordBatch)
                    | f"Generate{name.title()}PostTransformStatistics" >> tfdv.GenerateStatistics(tfdv.StatsOptions())
                    | f"Write{name.title()}PostTransformStatistics"
                    >> tfdv.WriteStatisticsToBinaryFile(output.file(POST_TRANSFORM_STATISTICS_DIR, Statistics.split_file(name)))
                )
            _ = (
                batches
                | f"Encode{name.title()}Examples"
                >> beam.ParDo(_encode_examples_fn(name), schema=beam.pvalue.AsSingleton(schema_view))
                | f"Write{name.title()}Transformed" >> WriteFramedTFRecords(output.file("transformed", name, "data"))
            )
    counters = run_and_count(pipeline, _METRICS_NAMESPACE)
    # Standalone TFT does not record the raw metadata; TFTransformOutput (and serving) needs it.
    metadata_io.write_metadata(dataset_metadata.DatasetMetadata(schema), output.file("metadata"))
    _remove_tree(output.file("_tft_tmp"))

    transformed_splits = {}
    for name, split in splits.items():
        rows = counters.get(f"rows_{name}", 0)
        if rows != split.rows:
            raise RowCountMismatch(f"Transform: split {name!r} got {split.rows} rows but wrote {rows}")
        transformed_splits[name] = TransformedSplit(rows=rows, pattern=f"transformed/{name}/data-*.tfrecord")
    TransformGraph(
        splits=transformed_splits,
        analyzed_split=params.analyze_split,
        preprocessing_fn=params.preprocessing_fn,
        post_transform_statistics=POST_TRANSFORM_STATISTICS_DIR if params.post_transform_statistics else None,
        pre_transform_statistics=pre_transform,
        analyzer_cache=cache_report,
    ).write(output)


def _keep_pre_transform_statistics(statistics: Artifact | None, examples: Artifact, output: ArtifactDraft) -> dict | None:
    """Copies StatisticsGen's per-split statistics into the artifact, when they describe
    exactly the rows transformed (same split names, same example counts)."""
    import shutil


    if statistics is None:
        return None
    counted = Statistics.of(statistics).splits
    for name, split in Examples.of(examples).splits.items():
        if name not in counted or counted[name].num_examples != split.rows:
            described = counted[name].num_examples if name in counted else None
            raise RowCountMismatch(
                f"Transform: the statistics at {statistics.uri} do not describe split {name!r} of "
                f"{examples.uri} ({described} examples, {split.rows} rows)"
            )
        shutil.copyfile(statistics.file(counted[name].file), output.file(PRE_TRANSFORM_STATISTICS_DIR, Statistics.split_file(name)))
    return {"dir": PRE_TRANSFORM_STATISTICS_DIR, "from": statistics.uri}


def _previous_cache_dir(output: ArtifactDraft) -> str | None:
    """The analyzer cache of the pipeline's last Transform of the same name, if any."""
    from sluice.artifacts import latest_artifact

    run_dir = output.final_path.parent
    previous = latest_artifact(run_dir.parent, output.final_path.name, exclude_run=run_dir)
    return previous.file(ANALYZER_CACHE_DIR) if previous is not None else None


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


SPEC = ComponentSpec(
    run=run,
    params=Params,
    output=TransformGraph,
    # `statistics`: StatisticsGen's of the same examples, kept as pre-transform statistics.
    inputs={"examples": Examples, "schema": Schema, "statistics": Statistics},
    optional={"statistics"},
)
