"""Record batches of one-value features -> TFRecord file bytes of tf.Examples, per batch.

Transform writes every transformed row as a tf.Example in a TFRecord file. Encoding a
batch row by row (tfx_bsl's encoder, then framing each record) costs about 12 us a row,
most of a 1M-row Transform's transform stage. When every column holds exactly one
float32 or int64 per row, as model features do, each row's tf.Example has the same
layout, and the batch is encoded in a few numpy steps over all rows at once: each
feature's bytes go into a fixed-width column, a mask drops the unused tail of its
variable-length parts (int64 varints, lengths), and the rows are read out in order.
Only the CRC32C of each record is computed row by row, in C.

Other batches (lists, missing values, strings) go through tfx_bsl's encoder; the bytes
parse to the same features either way.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa

from sluice.data.varints import varint, varints
from sluice.beam.tfrecords import masked_crc32c, tfrecord_frames

_MAX_KEY_BYTES = 100  # keeps every length inside an entry to one varint byte
_LIST_TYPES = (pa.types.is_list, pa.types.is_large_list)
_CHUNK_BYTES = 8 << 20  # rows encoded together, at most about this many bytes


def _one_value_columns(batch: pa.RecordBatch) -> list[tuple[bytes, np.ndarray]] | None:
    """[(key, values)] when every column has exactly one float32 or int64 per row, else None."""
    import pyarrow.compute as pc

    columns = []
    for field, column in zip(batch.schema, batch.columns):
        if not any(is_list(field.type) for is_list in _LIST_TYPES) or column.null_count:
            return None
        item = field.type.value_type
        values = column.flatten()
        if not (pa.types.is_float32(item) or pa.types.is_int64(item)) or values.null_count or len(values) != len(column):
            return None
        if len(column) and pc.min_max(pc.list_value_length(column)).as_py() != {"min": 1, "max": 1}:
            return None
        key = field.name.encode()
        if len(key) > _MAX_KEY_BYTES:
            return None
        columns.append((key, values.to_numpy(zero_copy_only=False)))
    return columns


class _Layout(NamedTuple):
    """A part of every row's bytes: constant `template` bytes (padded to the widest row),
    the bytes that vary by row [(offset, array [rows, k])], and each row's true size."""

    template: bytes
    varying: list
    sizes: np.ndarray


def _entry(key: bytes, values: np.ndarray) -> _Layout:
    """One feature's map entry in Features, for all rows."""
    rows, size = len(values), len(key)
    if values.dtype == np.float32:
        # entry{ key, value: Feature{ float_list: FloatList{ packed [v] } } }
        prefix = b"\x0a" + varint(size + 12) + b"\x0a" + bytes([size]) + key + b"\x12\x08\x12\x06\x0a\x04"
        floats = values.astype("<f4").view(np.uint8).reshape(rows, 4)
        return _Layout(prefix + bytes(4), [(len(prefix), floats)], np.full(rows, len(prefix) + 4))
    # entry{ key, value: Feature{ int64_list: Int64List{ packed [varint v] } } }: 1 to 10 bytes
    digits, digit_count = varints(values)
    count = digit_count.astype(np.uint8)[:, None]
    template = b"\x0a\x00\x0a" + bytes([size]) + key + b"\x12\x00\x1a\x00\x0a\x00" + bytes(digits.shape[1])
    varying = [(1, count + size + 8), (size + 5, count + 4), (size + 7, count + 2), (size + 9, count), (size + 10, digits)]
    return _Layout(template, varying, len(template) - digits.shape[1] + digit_count)


def encode_framed_examples(batch: pa.RecordBatch, encoder) -> bytes:
    """`batch`'s rows as TFRecord file bytes, one tf.Example per row, in row order.

    Args:
        encoder: a tfx_bsl `RecordBatchToExamplesEncoder`, for batches that are not all
            one-value float32/int64 columns.
    """
    columns = _one_value_columns(batch)
    if not columns or batch.num_rows == 0:
        return tfrecord_frames(encoder.encode(batch))
    widest_row = 32 + sum(len(key) + 21 for key, _ in columns)
    step = max(1, _CHUNK_BYTES // widest_row)  # bounds the working arrays of wide batches
    return b"".join(
        _framed_rows([(key, values[start : start + step]) for key, values in columns]) for start in range(0, batch.num_rows, step)
    )


def _framed_rows(columns: list[tuple[bytes, np.ndarray]]) -> bytes:
    rows = len(columns[0][1])
    entries = [_entry(key, values) for key, values in columns]
    size_digits, size_count = varints(sum(entry.sizes for entry in entries))
    head = _Layout(b"\x0a" + bytes(size_digits.shape[1]), [(1, size_digits)], size_count + 1)  # Example{ features }

    # One row of `framed` per record: 12 header bytes, the example's parts (each padded
    # to its widest row), 4 CRC bytes; `keep` marks the bytes that are not padding.
    template = b"".join(layout.template for layout in (head, *entries))
    framed = np.empty((rows, 12 + len(template) + 4), np.uint8)
    framed[:, 12 : 12 + len(template)] = np.frombuffer(template, np.uint8)
    keep = np.ones(framed.shape, bool)
    base = 12
    for layout in (head, *entries):
        for offset, values in layout.varying:
            framed[:, base + offset : base + offset + values.shape[1]] = values
        width = len(layout.template)
        if (layout.sizes != width).any():
            keep[:, base : base + width] = np.arange(width) < layout.sizes[:, None]
        base += width

    sizes = keep[:, 12 : 12 + len(template)].sum(axis=1)
    lengths = sizes.astype("<u8")
    distinct, which = np.unique(lengths, return_inverse=True)
    framed[:, :8] = lengths.view(np.uint8).reshape(rows, 8)
    framed[:, 8:12] = np.array([masked_crc32c(length.tobytes()) for length in distinct], "<u4")[which].view(np.uint8).reshape(rows, 4)
    out = framed[keep]  # every record in order, its data CRC not yet filled in

    ends = np.cumsum(sizes + 16)
    starts = ends - 4 - sizes
    blob = out.tobytes()  # crc32c reads bytes, not array views
    crcs = np.fromiter((masked_crc32c(blob[start:end]) for start, end in zip(starts.tolist(), (ends - 4).tolist())), "<u4", rows)
    out[(ends - 4)[:, None] + np.arange(4)] = crcs.view(np.uint8).reshape(rows, 4)
    return out.tobytes()
