"""Reading ExampleGen's Parquet copy as the record batches TFDV and TFT take."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
import pyarrow as pa

from sluice.beam import patches
from sluice.data.feature_lists import as_feature_lists


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
        patches.install("record_batch_coder")  # the coder of the edges built from here on
        return (
            pipeline
            | "MatchFiles" >> fileio.MatchFiles(self._pattern)
            | "SpreadFiles" >> beam.Reshuffle()
            | "OpenFiles" >> fileio.ReadMatches()
            | "ReadRowGroups" >> beam.FlatMap(_read_row_groups, self._schema).with_output_types(pa.RecordBatch)
        )
