"""Sluice's TFRecord writing: the same bytes as Beam's, readable by TensorFlow."""

import io
import random

import apache_beam as beam
import tensorflow as tf
from apache_beam.io.tfrecordio import _TFRecordUtil
import pytest

from sluice.beam.tfrecords import WriteFramedTFRecords, tfrecord_frames
from sluice.beam.jobs import new_pipeline, run_and_count


def _records(count: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    # Repeated and distinct lengths, an empty record, one over 64 KiB.
    sizes = [rng.choice([0, 1, 150, 151, 4096]) for _ in range(count)] + [70_000]
    return [rng.randbytes(size) for size in sizes]


def test_frames_are_the_bytes_beams_writer_writes():
    records = _records(500)
    expected = io.BytesIO()
    for record in records:
        _TFRecordUtil.write_record(expected, record)
    assert tfrecord_frames(records) == expected.getvalue()
    assert tfrecord_frames([]) == b""


@pytest.mark.beam
def test_a_beam_job_writes_every_record_of_every_batch_once(tmp_path):
    batches = [_records(50, seed) for seed in range(7)]
    pipeline = new_pipeline()
    _ = pipeline | beam.Create([tfrecord_frames(batch) for batch in batches]) | WriteFramedTFRecords(str(tmp_path / "data"))
    run_and_count(pipeline, "none")

    files = sorted(str(path) for path in tmp_path.glob("data-*.tfrecord"))
    read = [record.numpy() for record in tf.data.TFRecordDataset(files)]
    assert sorted(read) == sorted(record for batch in batches for record in batch)
