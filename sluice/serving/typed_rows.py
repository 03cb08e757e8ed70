"""`:predict` bodies of rows, decoded straight into typed rows, one column per feature.

`{"instances": [{feature: value, ...}, ...]}` is what clients send most, and a 256-row
request spends longer in Python (JSON into dicts, then each value looked up, type-checked
and encoded) than the model spends scoring it. Here msgspec decodes the body against one
model's raw features in one pass in C, checking each value's type as it goes (an int
feature takes JSON integers only, a float feature any number, a string feature strings;
an optional feature also null or nothing), and the rows turn into columns without a dict.

`decode` answers None for anything else: another shape (columns, b64 examples, context),
a value of the wrong type, an unknown or missing feature, no rows or too many. The general
path (`rest_requests.parse_body`, then `ExampleEncoder.encode_all`) then answers that
request, and names what is wrong, exactly as before.
"""

from __future__ import annotations

from typing import Any, Mapping, Union

import msgspec

from sluice.serving.raw_features import RawFeature

_PYTHON_TYPES = {"int": int, "float": float, "string": str}
_LEFT_OUT = {msgspec.UNSET: None}


class TypedRows:
    """Decoded rows of one request; `columns` holds each feature's values in feature order."""

    __slots__ = ("rows", "columns")

    def __init__(self, rows: list, columns: list[tuple]):
        self.rows, self.columns = rows, columns


class InstancesDecoder:
    """Decodes `:predict` row bodies for one model's raw features (see the module's docstring).

    Args:
        features: the model's raw features; columns come in this order.
        signature: the one signature the model serves; a body may name it, or "".
    """

    def __init__(self, features: Mapping[str, RawFeature], signature: str):
        # Field names stand in for the features' names, which need not be Python identifiers.
        fields = [
            (f"f{index}", _PYTHON_TYPES[feature.type])
            if feature.required
            else (f"f{index}", Union[_PYTHON_TYPES[feature.type], None, msgspec.UnsetType], msgspec.UNSET)  # left out: UNSET
            for index, feature in enumerate(features.values())
        ]
        self._optional = [index for index, feature in enumerate(features.values()) if not feature.required]
        row = msgspec.defstruct(
            "Row", fields, kw_only=True, forbid_unknown_fields=True, gc=False,
            rename={f"f{index}": name for index, name in enumerate(features)},
        )
        request = msgspec.defstruct("Instances", [("instances", list[row]), ("signature_name", str, signature)], forbid_unknown_fields=True)
        self._decoder = msgspec.json.Decoder(request)
        self._width = len(fields)
        self._signatures = (signature, "")

    def decode(self, body: bytes, max_instances: int) -> TypedRows | None:
        """The body's rows and columns, or None when the general path must answer it."""
        try:
            request = self._decoder.decode(body)
        except msgspec.DecodeError:  # malformed, another shape, or a row it does not take
            return None
        rows = request.instances
        if not 0 < len(rows) <= max_instances or request.signature_name not in self._signatures:
            return None
        columns = list(zip(*map(msgspec.structs.astuple, rows)))
        if len(columns) != self._width:
            return None
        for index in self._optional:  # a feature left out reads None, as an explicit null does
            if msgspec.UNSET in columns[index]:
                columns[index] = tuple(map(_LEFT_OUT.get, columns[index], columns[index]))
        return TypedRows(rows, columns)


def row_json(row: Any) -> Any:
    """A decoded row as JSON-ready builtins (for the request log): {feature: value}, as sent
    (a feature left out stays out; an explicit null stays null)."""
    return msgspec.to_builtins(row)
