"""Transformed record batches to TFRecords of tf.Examples: the whole-batch encoding parses
to the same features as tfx_bsl's row-by-row one, and other batches take tfx_bsl's path."""

import io

import numpy as np
import pyarrow as pa
import tensorflow as tf
from apache_beam.io.tfrecordio import _TFRecordUtil
from tfx_bsl.coders.example_coder import RecordBatchToExamplesEncoder

from sluice.beam.tfrecords import tfrecord_frames
from sluice.beam import example_encoding as tfrecord_examples
from sluice.beam.example_encoding import encode_framed_examples

ENCODER = RecordBatchToExamplesEncoder()
INT64 = np.iinfo(np.int64)


def _records(framed: bytes) -> list[bytes]:
    """The records of TFRecord bytes; Beam's reader checks both CRCs of each."""
    handle, records = io.BytesIO(framed), []
    while (record := _TFRecordUtil.read_record(handle)) is not None:
        records.append(record)
    return records


def _one_value_batch(columns: dict) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({key: pa.array([[v] for v in values], pa.large_list(pa.from_numpy_dtype(values.dtype))) for key, values in columns.items()})


def _parsed(records: list[bytes], columns: dict) -> dict:
    spec = {key: tf.io.FixedLenFeature([1], tf.float32 if values.dtype == np.float32 else tf.int64) for key, values in columns.items()}
    return {key: tensor.numpy()[:, 0] for key, tensor in tf.io.parse_example(records, spec).items()}


def test_one_value_columns_encode_to_the_features_of_every_row_in_order():
    rng = np.random.default_rng(0)
    rows = 300
    ints = rng.integers(-(2**40), 2**40, rows)
    ints[:8] = [0, 1, 127, 128, -1, INT64.max, INT64.min, 300]  # varints of 1, 2 and 10 bytes
    floats = rng.normal(size=rows).astype(np.float32)
    floats[:5] = [np.nan, np.inf, -np.inf, -0.0, 1e-45]
    columns = {
        "i": ints,
        "ids": rng.integers(0, 50, rows),
        "a_much_longer_feature_name_" * 3: rng.integers(0, 2**20, rows),
        "z": floats,
    }
    batch = _one_value_batch(columns)

    records = _records(encode_framed_examples(batch, ENCODER))

    assert len(records) == rows
    ours, reference = _parsed(records, columns), _parsed(ENCODER.encode(batch), columns)
    for key, values in columns.items():
        np.testing.assert_array_equal(ours[key], values)  # NaN equals NaN here, -0.0 equals 0.0
        np.testing.assert_array_equal(ours[key], reference[key])
    assert np.signbit(ours["z"][3])


def test_rows_under_and_over_128_bytes_in_one_batch():
    # Small ints keep a row under 128 bytes; negative ones (10-byte varints) take it over,
    # so the Example's own length varint is 1 byte in some rows and 2 in others.
    columns = {f"n{k}": np.where(np.arange(10) % 2 == 0, 1, -1) for k in range(6)}
    records = _records(encode_framed_examples(_one_value_batch(columns), ENCODER))
    assert min(map(len, records)) < 128 <= max(map(len, records))
    for key, values in _parsed(records, columns).items():
        np.testing.assert_array_equal(values, columns[key])


def test_list_columns_as_plain_lists_too():
    batch = pa.RecordBatch.from_pydict({"x": pa.array([[1.5], [2.5]], pa.list_(pa.float32())), "y": pa.array([[7], [8]], pa.list_(pa.int64()))})
    columns = {"x": np.array([1.5, 2.5], np.float32), "y": np.array([7, 8])}
    assert {k: list(v) for k, v in _parsed(_records(encode_framed_examples(batch, ENCODER)), columns).items()} == {"x": [1.5, 2.5], "y": [7, 8]}


def test_other_batches_take_the_row_by_row_encoder():
    others = [
        pa.RecordBatch.from_pydict({"x": pa.array([[1, 2], [3]], pa.large_list(pa.int64()))}),  # several values
        pa.RecordBatch.from_pydict({"x": pa.array([[1], None], pa.large_list(pa.int64()))}),  # missing
        pa.RecordBatch.from_pydict({"x": pa.array([[b"a"], [b"b"]], pa.large_list(pa.binary()))}),  # strings
        pa.RecordBatch.from_pydict({"k" * 101: pa.array([[1], [2]], pa.large_list(pa.int64()))}),  # long name
        pa.RecordBatch.from_pydict({"x": pa.array([], pa.large_list(pa.int64()))}),  # no rows
    ]
    for batch in others:
        assert encode_framed_examples(batch, ENCODER) == tfrecord_frames(ENCODER.encode(batch))


def test_a_sliced_batch_encodes_only_its_rows():
    columns = {"x": np.arange(10), "y": np.arange(10, dtype=np.float32)}
    batch = _one_value_batch(columns).slice(3, 4)
    parsed = _parsed(_records(encode_framed_examples(batch, ENCODER)), columns)
    assert list(parsed["x"]) == [3, 4, 5, 6] and list(parsed["y"]) == [3.0, 4.0, 5.0, 6.0]


def test_a_batch_wider_than_one_chunk_encodes_every_row_in_order(monkeypatch):
    columns = {"x": np.arange(1000), "y": np.arange(1000, dtype=np.float32) / 4}
    batch = _one_value_batch(columns)
    whole = encode_framed_examples(batch, ENCODER)
    monkeypatch.setattr(tfrecord_examples, "_CHUNK_BYTES", 3000)  # about 40 rows a chunk

    chunked = encode_framed_examples(batch, ENCODER)

    assert chunked == whole
    parsed = _parsed(_records(chunked), columns)
    assert list(parsed["x"]) == list(range(1000)) and list(parsed["y"]) == list(np.arange(1000, dtype=np.float32) / 4)
