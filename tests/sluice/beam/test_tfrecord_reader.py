"""Sluice's TFRecord reader: the records TensorFlow wrote, and corruption named."""

import gzip
import io
import random

import pytest
import tensorflow as tf

from sluice.beam.tfrecords import CorruptTFRecord, read_tfrecords


def _records() -> list[bytes]:
    rng = random.Random(0)
    return [rng.randbytes(rng.choice([0, 1, 150, 4096, 70_000])) for _ in range(60)]


def test_reads_what_tensorflow_wrote_plain_and_gzipped(tmp_path):
    records = _records()
    for name, options in (("plain.tfrecord", None), ("zipped.tfrecord.gz", tf.io.TFRecordOptions(compression_type="GZIP"))):
        with tf.io.TFRecordWriter(str(tmp_path / name), options) as writer:
            for record in records:
                writer.write(record)
    with open(tmp_path / "plain.tfrecord", "rb") as handle:
        assert list(read_tfrecords(handle)) == records
    with gzip.open(tmp_path / "zipped.tfrecord.gz", "rb") as handle:
        assert list(read_tfrecords(handle)) == records


def test_a_flipped_byte_or_a_cut_file_is_refused(tmp_path):
    path = tmp_path / "data.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in (b"first record", b"second record"):
            writer.write(record)
    data = path.read_bytes()
    for damaged in (data[:20] + bytes([data[20] ^ 1]) + data[21:], data[:4] + b"\xff" + data[5:], data[:-3]):
        with pytest.raises(CorruptTFRecord):
            list(read_tfrecords(io.BytesIO(damaged)))
