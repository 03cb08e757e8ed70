"""Protobuf varints, of one integer or of a whole column at once (numpy), for writing tf.Examples by hand."""

from __future__ import annotations

import numpy as np


def varint(number: int) -> bytes:
    """The protobuf varint of one int64 (a negative one as ten-byte two's complement)."""
    number &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Protobuf varints of int64s (negatives as ten-byte two's complement):
    (bytes [n, width], lengths [n]); row i's varint is bytes[i, :lengths[i]]."""
    remaining = np.asarray(values).astype(np.int64).view(np.uint64).copy()
    columns, lengths = [], np.ones(len(remaining), np.int64)
    while True:
        byte = (remaining & np.uint64(0x7F)).astype(np.uint8)
        remaining >>= np.uint64(7)
        more = remaining != 0
        columns.append(byte | (more.astype(np.uint8) << 7))
        if not more.any():
            return np.stack(columns, axis=1), lengths
        lengths += more
