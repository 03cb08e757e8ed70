"""JSON rows of raw values -> serialized tf.Examples, fast, with the errors of `encode_instance`.

`encode_instance` builds each row through protobuf (about 18 us a row for census); a
256-row request would spend longer encoding than the model spends scoring it. Here each
feature's map entry (key and value, as tf.Example's wire format lays it out) is built once
per distinct value and cached: categorical features take a handful of values, so a row is
mostly dictionary look-ups and one `bytes.join`. Any row this path does not recognise at
a glance (a missing required value, an unknown feature, a value of another Python type, a
one-element list) goes through `encode_instance`, which encodes it or raises the
`InstanceError` naming the feature; both paths parse to the same features.
"""

from __future__ import annotations

import math
import operator
import struct
from itertools import repeat
from typing import Any, Mapping

from sluice.data.varints import varint, varints
from sluice.serving.raw_features import InstanceError, RawFeature, encode_instance

_CACHE_LIMIT = 4096  # distinct values cached per feature (continuous features would grow without bound)
_CACHED_ENTRY_BYTES = 256  # long strings are encoded each time: the cache stays under ~1 MB a feature
_VECTORIZED_MISSES = 32  # uncached ints in one column above which numpy encodes them
_FLOAT32_MAX = 3.4028234663852886e38


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return bytes([tag]) + varint(len(payload)) + payload


class _Feature:
    """One raw feature: its expected Python types and the map entries of values seen."""

    __slots__ = ("name", "types", "allowed", "required", "key", "entries", "kind", "getter", "_int_heads")

    def __init__(self, name: str, feature: RawFeature):
        self.name, self.kind, self.required = name, feature.type, feature.required
        self.getter = operator.itemgetter(name)
        self.types = {"int": (int,), "float": (int, float), "string": (str,)}[feature.type]
        self.allowed = frozenset(self.types if feature.required else (*self.types, type(None)))
        self.key = _field(0x0A, name.encode("utf-8"))
        self.entries: dict[Any, bytes] = {}
        if not feature.required:
            self.entries[None] = b""  # an optional feature left out: no entry
        # entry{key, value: Feature{int64_list: Int64List{packed [varint]}}} for varints of 1..10 bytes:
        # everything but the varint is fixed by its length
        self._int_heads = [_field(0x0A, self.key + _field(0x12, _field(0x1A, _field(0x0A, bytes(n)))))[: -n] for n in range(11)]

    def entry(self, value) -> bytes | None:
        """The Features map entry {key, Feature} for `value`, or None when only the slow path can say."""
        if self.kind == "int":
            if not -(2**63) <= value < 2**63:
                return None
            digits = bytes((value,)) if 0 <= value < 0x80 else varint(value)
            entry = self._int_heads[len(digits)] + digits
        elif self.kind == "float":
            if not (math.isfinite(value) and abs(value) <= _FLOAT32_MAX):
                return None
            entry = _field(0x0A, self.key + _field(0x12, _field(0x12, _field(0x0A, struct.pack("<f", value)))))  # float_list, packed
        else:
            entry = _field(0x0A, self.key + _field(0x12, _field(0x0A, _field(0x0A, value.encode("utf-8")))))  # bytes_list
        if len(self.entries) < _CACHE_LIMIT and len(entry) <= _CACHED_ENTRY_BYTES:
            self.entries[value] = entry
        return entry

    def column(self, values: list) -> list[bytes] | None:
        """The entries of a column of values, or None when a value needs the slow path."""
        if self.kind == "string":
            # Only str keys (and None, for an optional feature) are cached, and no value of
            # another type equals one, so types are checked on the misses alone.
            try:
                entries = list(map(self.entries.get, values))
            except TypeError:  # an unhashable value (a list, an object)
                return None
        else:  # True == 1 and 1.0 == 1: a bool or a float would find an int's entry
            if not self.allowed.issuperset(map(type, values)):
                return None
            entries = list(map(self.entries.get, values))
        return self._with_misses(entries, values, check_types=True)

    def typed_column(self, values: tuple) -> list[bytes] | None:
        """`column` for values already known to be of this feature's types (decoded against
        them), so that no value's type is looked at."""
        return self._with_misses(list(map(self.entries.get, values)), values, check_types=False)

    def _with_misses(self, entries: list, values, check_types: bool) -> list[bytes] | None:
        """`entries` with the values the cache missed encoded, or None when one needs the slow path."""
        if None in entries:
            missed = [index for index, entry in enumerate(entries) if entry is None]
            new = dict.fromkeys(values[index] for index in missed)
            if check_types and not self.allowed.issuperset(map(type, new)):
                return None
            if self.kind == "int" and len(new) > _VECTORIZED_MISSES:
                if not self._int_entries(new):
                    return None
            else:
                for value in new:
                    new[value] = self.entry(value)
                    if new[value] is None:
                        return None
            for index in missed:
                entries[index] = new[values[index]]
        return entries

    def _int_entries(self, new: dict) -> bool:
        """Fills {int: entry} for many uncached ints (a continuous feature) with numpy's varints."""
        import numpy as np

        try:
            numbers = np.array(list(new), dtype=np.int64)
        except OverflowError:
            return False
        digits, lengths = varints(numbers)
        width, raw, heads = digits.shape[1], digits.tobytes(), self._int_heads
        room = _CACHE_LIMIT - len(self.entries)
        for position, (value, length) in enumerate(zip(new, lengths.tolist())):
            start = position * width
            new[value] = heads[length] + raw[start : start + length]
        if room > 0:
            self.entries.update(zip(list(new)[:room], list(new.values())[:room]))
        return True


# Example{features: Features{...}} = 0x0A, the varint of the Features' size, the entries.
_EXAMPLE_HEADS = [_field(0x0A, bytes(size))[:-size] if size else b"\x0a\x00" for size in range(1 << 14)]


class ExampleEncoder:
    """Encodes request rows for one model's raw features.

    Args:
        features: the model's raw features (`read_raw_features`).
    """

    def __init__(self, features: Mapping[str, RawFeature]):
        self.features = dict(features)
        self._known = frozenset(features)
        self._plan = [_Feature(name, feature) for name, feature in features.items()]

    def encode(self, row: Mapping[str, Any]) -> bytes:
        """One row ({feature: value}) as a serialized tf.Example; raises InstanceError."""
        if type(row) is dict and row.keys() <= self._known:
            parts = []
            for feature in self._plan:
                value = row.get(feature.name)
                if type(value) not in feature.types and not (value is None and not feature.required):
                    break
                entry = feature.entries.get(value)
                if entry is None:
                    entry = feature.entry(value)
                    if entry is None:
                        break
                parts.append(entry)
            else:
                return _field(0x0A, b"".join(parts))  # Example.features
        return encode_instance(row, self.features)

    def encode_all(self, rows: list) -> list[bytes]:
        """Every row encoded; the first bad row raises InstanceError, its message prefixed with its index.

        Rows are encoded a column at a time (each feature's values looked up together), so
        a 256-row request costs a few loops in C per feature rather than Python per value.
        """
        if len(rows) > 1 and set(map(type, rows)) == {dict}:
            encoded = self._encode_columns(rows)
            if encoded is not None:
                return encoded
        encode, encoded = self.encode, []
        for index, row in enumerate(rows):
            try:
                encoded.append(encode(row))
            except InstanceError as error:
                located = InstanceError(None, f"instance {index}: {error}")
                located.feature = error.feature
                raise located from None
        return encoded

    def _encode_columns(self, rows: list[dict]) -> list[bytes] | None:
        """`encode_all`'s fast path; None when a row needs the slow one (which finds the error)."""
        count, columns = len(rows), []
        required_keys = optional_values = 0
        for feature in self._plan:
            if feature.required:
                try:
                    values = list(map(feature.getter, rows))
                except KeyError:  # the slow path names the row and feature
                    return None
                required_keys += count
            else:  # often left out of a row: look it up without raising
                values = list(map(dict.get, rows, repeat(feature.name)))
                optional_values += count - values.count(None)
            column = feature.column(values)
            if column is None:
                return None
            columns.append(column)
        keys = sum(map(len, rows))
        if keys != required_keys + optional_values:  # an unknown feature, or an optional one sent as null
            present = sum(sum(map(dict.__contains__, rows, repeat(f.name))) for f in self._plan if not f.required)
            if keys != required_keys + present:  # a row holds a feature the model does not know
                return None
        return _examples(columns)

    def encode_typed(self, columns: list[tuple]) -> list[bytes] | None:
        """Rows decoded against these features (`typed_rows.InstancesDecoder`, built from the
        same features: one column each, in their order) as serialized tf.Examples; None when a
        value needs `encode_all` (a number out of range, say), which then names it."""
        if columns and len(columns[0]) == 1:  # one row: a loop over its values beats a pass per column
            parts = []
            for feature, (value,) in zip(self._plan, columns):
                entry = feature.entries.get(value)
                if entry is None:
                    entry = feature.entry(value)
                    if entry is None:
                        return None
                parts.append(entry)
            return [_field(0x0A, b"".join(parts))]
        entries = []
        for feature, values in zip(self._plan, columns):
            column = feature.typed_column(values)
            if column is None:
                return None
            entries.append(column)
        return _examples(entries)


def _examples(columns: list[list[bytes]]) -> list[bytes] | None:
    """Each row's entries (one column of them per feature) joined into a serialized tf.Example;
    None when a row is too long for the prebuilt heads."""
    bodies = list(map(b"".join, zip(*columns)))
    lengths = list(map(len, bodies))
    if max(lengths) >= len(_EXAMPLE_HEADS):
        return None
    return list(map(bytes.__add__, map(_EXAMPLE_HEADS.__getitem__, lengths), bodies))


def decode_example(serialized: bytes) -> dict[str, Any]:
    """A serialized tf.Example (a client's `{"b64": ...}`) as a row of raw values, so it is
    checked and logged like any row. Raises InstanceError when it is not one."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.example import example_pb2

    try:
        example = example_pb2.Example.FromString(serialized)
    except (DecodeError, RuntimeError, ValueError) as error:
        raise InstanceError(None, f"b64 value is not a serialized tf.Example ({error})") from None
    row: dict[str, Any] = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values = [] if kind is None else list(getattr(feature, kind).value)
        if len(values) > 1:
            raise InstanceError(name, f"{len(values)} values in the tf.Example; this model takes one")
        if kind == "bytes_list" and values:
            try:
                values = [values[0].decode("utf-8")]
            except UnicodeDecodeError:
                raise InstanceError(name, "bytes that are not UTF-8 text") from None
        row[name] = values[0] if values else None
    return row
