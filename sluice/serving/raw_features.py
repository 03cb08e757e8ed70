"""The raw features a served model takes, and one JSON instance of them as a tf.Example.

Every exported SavedModel carries `assets.extra/raw_features.json`: each raw feature's
type ("int", "float" or "string") and whether a request must send it. The REST server
and batch scoring read it to turn rows of raw values into the serialized tf.Examples the
`serving_default` signature parses, and to name the feature when a row is wrong.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Mapping

from sluice.errors import SluiceError

RAW_FEATURES_FILE = Path("assets.extra") / "raw_features.json"
_TYPES = {"int64": "int", "float32": "float", "string": "string"}


class InstanceError(SluiceError):
    """A request row that cannot become a tf.Example; the message names the feature."""

    def __init__(self, feature: str | None, reason: str):
        self.feature = feature
        super().__init__(f"feature {feature!r}: {reason}" if feature else reason)


@dataclasses.dataclass(frozen=True)
class RawFeature:
    """One raw feature of a served model.

    Args:
        type: "int" (int64), "float" or "string".
        required: a request must send it (the schema says it is always present).
    """

    type: str
    required: bool


def describe(raw_feature_spec: Mapping[str, Any]) -> dict[str, RawFeature]:
    """The raw features of a TFT raw feature spec (tf.io.FixedLenFeature / VarLenFeature)."""
    described = {}
    for name, spec in sorted(raw_feature_spec.items()):
        dtype = spec.dtype.name
        if dtype not in _TYPES:
            raise ValueError(f"feature {name!r}: raw type {dtype} cannot be served")
        fixed = type(spec).__name__ == "FixedLenFeature"
        described[name] = RawFeature(_TYPES[dtype], required=fixed and spec.default_value is None)
    return described


def write_raw_features(model_dir: str | Path, features: Mapping[str, RawFeature]) -> None:
    path = Path(model_dir) / RAW_FEATURES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({name: dataclasses.asdict(f) for name, f in features.items()}, indent=2))


def read_raw_features(model_dir: str | Path) -> dict[str, RawFeature]:
    """The raw features recorded beside an exported SavedModel."""
    path = Path(model_dir) / RAW_FEATURES_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: {model_dir} was exported before raw features were recorded; export it again")
    return {name: RawFeature(**entry) for name, entry in json.loads(path.read_text()).items()}


def _checked(name: str, value: Any, kind: str) -> int | float | str:
    if kind == "string":
        if isinstance(value, str):
            return value
    elif isinstance(value, bool):
        pass
    elif kind == "int":
        if (isinstance(value, int) or (isinstance(value, float) and value.is_integer())) and -(2**63) <= value < 2**63:
            return int(value)
    elif isinstance(value, (int, float)) and math.isfinite(value) and abs(value) <= 3.4e38:
        return float(value)
    raise InstanceError(name, f"{value!r} is not {'a string' if kind == 'string' else 'an integer' if kind == 'int' else 'a finite number'}")


def encode_instance(instance: Mapping[str, Any], features: Mapping[str, RawFeature], ignore: frozenset[str] = frozenset()) -> bytes:
    """Serializes one row of raw values ({feature: value}; None or absent = missing).

    Raises InstanceError for a missing required feature, an unknown feature (names in
    `ignore` excepted, such as the label) or a value of the wrong type.
    """
    from tensorflow.core.example import example_pb2

    if not isinstance(instance, Mapping):
        raise InstanceError(None, f"an instance must be an object of feature values, not {type(instance).__name__}")
    unknown = sorted(set(instance) - set(features) - ignore)
    if unknown:
        raise InstanceError(unknown[0], f"unknown feature (expected: {sorted(features)})")
    example = example_pb2.Example()
    slots = example.features.feature
    for name, feature in features.items():
        value = instance.get(name)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if value is None:
            if feature.required:
                raise InstanceError(name, "missing (this model needs it in every row)")
            continue
        value = _checked(name, value, feature.type)
        if feature.type == "int":
            slots[name].int64_list.value.append(value)
        elif feature.type == "float":
            slots[name].float_list.value.append(value)
        else:
            slots[name].bytes_list.value.append(value.encode("utf-8"))
    return example.SerializeToString()
