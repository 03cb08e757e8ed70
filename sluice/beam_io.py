"""Beam IO Sluice needs beyond Beam's own."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.coders import coders
from apache_beam.io import filebasedsink
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.tfrecordio import _TFRecordUtil


class _TFRecordBatchSink(filebasedsink.FileBasedSink):
    """A TFRecord sink whose elements are lists of records, written in order."""

    def __init__(self, file_path_prefix: str, file_name_suffix: str):
        super().__init__(
            file_path_prefix=file_path_prefix,
            coder=coders.BytesCoder(),
            file_name_suffix=file_name_suffix,
            num_shards=0,
            shard_name_template=None,
            mime_type="application/octet-stream",
            compression_type=CompressionTypes.UNCOMPRESSED,
        )

    def write_record(self, file_handle, records):
        for record in records:
            _TFRecordUtil.write_record(file_handle, record)


class WriteBatchesToTFRecord(beam.PTransform):
    """Writes PCollection[list[bytes]] as TFRecord files, one record per list item.

    Like WriteToTFRecord (temporary files, renamed into place when the job finishes, so a
    retried bundle never duplicates rows), but with one Beam element per batch of records:
    per-element overhead is paid per thousand rows, not per row.
    """

    def __init__(self, file_path_prefix: str, file_name_suffix: str = ".tfrecord"):
        super().__init__()
        self._sink = _TFRecordBatchSink(file_path_prefix, file_name_suffix)

    def expand(self, batches):
        return batches | beam.io.Write(self._sink)
