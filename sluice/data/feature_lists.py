"""Columns of one value per row as the lists per row that TFDV, TFT and tfx_bsl read."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def as_feature_lists(table: pa.Table, schema: pa.Schema | None = None) -> pa.RecordBatch:
    """One value per row -> one list per row (null where missing): how TFDV, TFT and tfx_bsl
    see features. With `schema` (e.g. a TFXIO source's), its columns, order and types."""
    fields = schema or pa.schema([(name, pa.large_list(_large(table.schema.field(name).type))) for name in table.column_names])
    lists = []
    for field in fields:
        values = table[field.name].combine_chunks().cast(field.type.value_type)
        present = values.is_valid()
        if values.null_count:
            # A missing value is an empty, null list: readers count values by offsets.
            counts = np.asarray(present, dtype=np.int64)
            offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int64())
            values = values.filter(present)
        else:
            offsets = pa.array(np.arange(table.num_rows + 1, dtype=np.int64))
        lists.append(pa.LargeListArray.from_arrays(offsets, values, mask=pc.invert(present)))
    return pa.RecordBatch.from_arrays(lists, schema=fields)


def _large(arrow_type: pa.DataType) -> pa.DataType:
    return pa.large_binary() if pa.types.is_binary(arrow_type) else arrow_type
