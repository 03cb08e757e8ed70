"""Span-by-span analysis with TFT's analyzer cache.

Each span of the analyzed split is its own TFT dataset, keyed by the span key ExampleGen
recorded (a digest of the source file, its split percentages and the CSV format). TFT
keeps one cache entry per (span, analyzer), and an analyzer's entry key is a digest of its
part of the graph: an entry is reused only for the same rows and the same computation.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Callable, Mapping

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from components.example_gen.artifact import Span
from sluice.beam.tfrecords import read_tfrecords, tfrecord_frames

# TFT's own sink names a cache entry's file like this; its reader would find it too.
_ENTRY_SHARD = "-00000-of-00001.gz"


def _write_entry(values: list[bytes], path: str) -> None:
    # Hidden while partial: the reader's glob `<entry>-*-of-*` must not see it.
    directory, name = FileSystems.split(path)
    partial = FileSystems.join(directory, f".{name}.partial")
    with FileSystems.create(partial, compression_type=CompressionTypes.GZIP) as handle:
        handle.write(tfrecord_frames(values))
    FileSystems.rename([partial], [path])


def _read_entry(_, pattern: str):
    for match in sorted(FileSystems.match([pattern])[0].metadata_list, key=lambda m: m.path):
        with FileSystems.open(match.path, compression_type=CompressionTypes.GZIP) as handle:
            yield from read_tfrecords(handle)


class _WriteEntry(beam.PTransform):
    """One cache entry (a few encoded accumulators) -> one gzipped TFRecord file.

    TFT's default sink is Beam's file sink: about ten stages per entry (temp files, a
    group, finalize), and the cache holds an entry per (span, analyzer). Gathering the
    entry's values and writing them in one step keeps the cache from costing more than
    the analysis it saves.
    """

    def __init__(self, path: str):
        super().__init__()
        self._path = path + _ENTRY_SHARD

    def expand(self, entry):
        return (
            entry
            | "Gather" >> beam.combiners.ToList()
            | "Write" >> beam.Map(_write_entry, self._path)
        )


class _ReadEntry(beam.PTransform):
    """The files of one cache entry (a glob) -> its values, read in one step."""

    def __init__(self, pattern: str):
        super().__init__()
        self._pattern = pattern

    def expand(self, pipeline):
        return (
            pipeline
            | "Start" >> beam.Impulse()
            | "Read" >> beam.FlatMap(_read_entry, self._pattern).with_output_types(bytes)
        )


def analyze_spans(
    pipeline,
    spans: Mapping[str, Span],
    read_span: Callable[[str, Span], Any],
    preprocessing_fn: Callable,
    tensor_adapter_config,
    *,
    cache_dir: str,
    previous_cache_dir: str | None,
):
    """Adds the analysis of `spans` to `pipeline`; returns (transform_fn, cache report).

    `cache_dir` receives the entries of the spans found in `previous_cache_dir` (the last
    Transform's), then this run's new entries, so it is complete for the next run.
    `read_span(span_id, span)` gives a span's record batches; it is called only for spans
    whose analysis is not all in the cache.
    """
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.beam import analyzer_cache
    from tensorflow_transform.beam.analysis_graph_builder import get_analysis_dataset_keys
    from tfx_bsl.tfxio.tensor_adapter import TensorAdapter

    keys = {span_id: analyzer_cache.DatasetKey(span.key) for span_id, span in spans.items()}
    copied = _copy_span_caches(previous_cache_dir, cache_dir, [key.key for key in keys.values()])
    input_cache = pipeline | "ReadAnalyzerCache" >> analyzer_cache.ReadAnalysisCacheFromFS(
        cache_dir, list(keys.values()), source=_ReadEntry
    )
    specs = TensorAdapter(tensor_adapter_config).OriginalTypeSpecs()
    to_read = get_analysis_dataset_keys(
        preprocessing_fn, specs, list(keys.values()), input_cache, tft_beam.Context.get_use_tf_compat_v1()
    )
    datasets = {key: read_span(span_id, spans[span_id]) if key in to_read else None for span_id, key in keys.items()}
    transform_fn, output_cache = (datasets, input_cache, tensor_adapter_config) | "Analyze" >> tft_beam.AnalyzeDatasetWithCache(
        preprocessing_fn, pipeline=pipeline
    )
    _ = output_cache | "WriteAnalyzerCache" >> analyzer_cache.WriteAnalysisCacheToFS(
        pipeline, cache_dir, list(keys.values()), sink=_WriteEntry
    )
    read_ids = sorted(span_id for span_id, key in keys.items() if key in to_read)
    report = {
        "spans": len(keys),
        "analyzed_spans": read_ids,
        "reused_spans": sorted(span_id for span_id in keys if span_id not in read_ids),
        "analyzed_rows": sum(spans[span_id].rows for span_id in read_ids),
        "reused_from": previous_cache_dir if copied else None,
    }
    return transform_fn, report


def _copy_span_caches(previous_dir: str | None, cache_dir: str, span_keys: list[str]) -> list[str]:
    """Copies the previous cache's entries for `span_keys` into `cache_dir`; returns the keys copied."""
    os.makedirs(cache_dir, exist_ok=True)
    if previous_dir is None or not os.path.isdir(previous_dir):
        return []
    copied = []
    for key in span_keys:
        source = os.path.join(previous_dir, key)
        if os.path.isfile(os.path.join(source, "MANIFEST")):
            shutil.copytree(source, os.path.join(cache_dir, key))
            copied.append(key)
    return copied
