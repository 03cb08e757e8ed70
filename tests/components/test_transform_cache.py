"""Transform over spans: a rerun after adding a span analyzes only the new span, and its
graph equals a fresh analysis of every span."""

import dataclasses
import glob

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import pytest

from sluice.data.rows import CsvFormat, encode_example, read_rows, typed_values
from pipelines.census.pipeline import CSV_FORMAT, CensusConfig, create_pipeline
from sluice.artifacts import read_artifact
from sluice.config import apply_overrides
from sluice.execute import execute
from tests.helpers import CENSUS_SAMPLE_TEST, CENSUS_SAMPLE_TRAIN

pytestmark = pytest.mark.beam


def write_spans(directory, count):
    """The sample train rows cut into `count` span files."""
    lines = CENSUS_SAMPLE_TRAIN.read_text().splitlines(keepends=True)
    size = -(-len(lines) // count)
    directory.mkdir(exist_ok=True)
    for index in range(count):
        (directory / f"span-{index}.csv").write_text("".join(lines[index * size : (index + 1) * size]))


def examples_of(root, run_id, spans_glob):
    """(run directory, Examples and Schema artifact URIs) of the span files matching `spans_glob`."""
    pipeline = create_pipeline(CensusConfig(home=str(root)))
    run_dir = root / "artifacts" / "census" / run_id
    example_gen = pipeline.component("example_gen")
    example_gen = dataclasses.replace(example_gen, params={**example_gen.params, "sources": [
        {"pattern": spans_glob, "splits": {"train": 100}},
        {"pattern": str(CENSUS_SAMPLE_TEST), "splits": {"test": 100}},
    ]})
    examples = execute(example_gen, run_dir, {}).uri
    schema = execute(pipeline.component("schema_gen"), run_dir, {}).uri  # the reviewed schema
    return run_dir, {"examples": examples, "schema": schema}


def transform(run_dir, inputs, analyzer_cache=True):
    config = apply_overrides(CensusConfig(), [f"transform.analyzer_cache={str(analyzer_cache).lower()}"])
    component = create_pipeline(config).component("transform")
    params = {**component.params, "post_transform_statistics": False}
    return read_artifact(execute(dataclasses.replace(component, params=params), run_dir, inputs).uri)


def served_outputs(transform_artifact):
    """The transform graph applied to raw test rows, as a dict of arrays."""
    fmt = CsvFormat(**CSV_FORMAT)
    rows = list(read_rows(open(CENSUS_SAMPLE_TEST, "rb"), str(CENSUS_SAMPLE_TEST), fmt))[:50]
    serialized = [encode_example(typed_values(row, fmt), fmt) for row in rows]
    output = tft.TFTransformOutput(transform_artifact.uri)
    raw_spec = output.raw_feature_spec()
    features = output.transform_features_layer()(tf.io.parse_example(tf.constant(serialized), raw_spec))
    return {k: (tf.sparse.to_dense(v) if isinstance(v, tf.SparseTensor) else v).numpy() for k, v in features.items()}


def test_rerun_with_a_new_span_analyzes_only_that_span_and_matches_a_full_analysis(tmp_path):
    spans = tmp_path / "spans"
    write_spans(spans, 3)

    first = transform(*examples_of(tmp_path, "first", str(spans / "span-[01].csv")))
    assert first.properties["analyzer_cache"]["analyzed_spans"] == ["00000", "00001"]
    assert first.properties["analyzer_cache"]["reused_spans"] == []
    assert glob.glob(first.file("analyzer_cache", "span-*", "MANIFEST"))

    run_dir, every_span = examples_of(tmp_path, "second", str(spans / "span-*.csv"))
    second = transform(run_dir, every_span)
    cache = second.properties["analyzer_cache"]
    assert cache["spans"] == 3
    assert cache["reused_spans"] == ["00000", "00001"] and cache["analyzed_spans"] == ["00002"]
    assert cache["reused_from"] == first.file("analyzer_cache")
    assert second.properties["splits"]["train"]["rows"] == 600  # every row is still transformed

    fresh = transform(tmp_path / "artifacts" / "census" / "fresh", every_span, analyzer_cache=False)
    assert fresh.properties["analyzer_cache"] is None
    cached, full = served_outputs(second), served_outputs(fresh)
    assert cached.keys() == full.keys()
    for key in full:
        np.testing.assert_allclose(cached[key], full[key], rtol=1e-5, atol=1e-6, err_msg=key)
    # ... and differs from the two-span analysis, so the third span's statistics count.
    assert not np.allclose(served_outputs(first)["fnlwgt"], full["fnlwgt"])


def test_a_cache_entry_is_one_gzipped_tfrecord_file_that_tfts_reader_finds(tmp_path):
    from components.transform.analyzer_cache import _read_entry, _write_entry

    values = [b"accumulator", b"", b"\x00" * 1000]
    _write_entry(values, str(tmp_path / "7-00000-of-00001.gz"))
    assert [p.name for p in tmp_path.iterdir()] == ["7-00000-of-00001.gz"]  # no partial left
    assert list(_read_entry(None, str(tmp_path / "7-*-of-*"))) == values
    # TFT's default source reads `<entry>-*-of-*` as gzipped TFRecords: so does TensorFlow.
    records = tf.data.TFRecordDataset(glob.glob(str(tmp_path / "7-*-of-*")), compression_type="GZIP")
    assert [r.numpy() for r in records] == values
    assert list(_read_entry(None, str(tmp_path / "8-*-of-*"))) == []
