"""TF Serving's REST request bodies -> rows of raw feature values, or a client error.

Accepted (see README "Serving over REST"):
- `:predict`, row format: `{"instances": [row, ...]}`, where a row is `{feature: value, ...}`
  (a value may be a one-element list), `{"b64": <serialized tf.Example>}`, or
  `{"examples": {"b64": ...}}` (the signature's input by name);
- `:predict`, columnar: `{"inputs": {feature: [values...], ...}}`, `{"inputs": {"examples":
  [{"b64": ...}, ...]}}` or `{"inputs": [{"b64": ...}, ...]}`;
- `:classify` / `:regress`: `{"examples": [row, ...], "context": {feature: value}}` (context
  optional, shared by every example, its features never repeated in one).
`signature_name`, when sent, must be "serving_default".
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

import orjson

from sluice.serving.example_encoder import decode_example
from sluice.serving.loaded_version import INPUT, SIGNATURE
from sluice.serving.raw_features import InstanceError

VERBS = ("predict", "classify", "regress")


class ClientError(Exception):
    """A request the server refuses; `status` is its HTTP status (4xx)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass
class ParsedRequest:
    rows: list  # each a {feature: value} dict, or a tf.Example's values (from b64)
    columnar: bool  # answer with "outputs" (predict's columnar format) instead of "predictions"


def parse_body(body: bytes, verb: str, max_instances: int) -> ParsedRequest:
    """Parses one request body into rows; raises ClientError (400) naming what is wrong."""
    if not body.strip():
        raise ClientError(400, "empty request body; send a JSON object")
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ClientError(400, f"malformed JSON: {error}") from None
    if not isinstance(request, dict):
        raise ClientError(400, f"the request must be a JSON object, not {_kind(request)}")
    signature = request.get("signature_name", SIGNATURE)
    if signature not in (SIGNATURE, ""):
        raise ClientError(400, f"unknown signature_name {str(signature)[:100]!r}; this model serves {SIGNATURE!r}")
    if verb == "predict":
        parsed = _predict_rows(request)
    else:
        parsed = ParsedRequest(_examples(request), columnar=False)
    if not parsed.rows:
        raise ClientError(400, "no instances in the request")
    if len(parsed.rows) > max_instances:
        raise ClientError(400, f"{len(parsed.rows)} instances in one request; at most {max_instances}")
    try:  # only a one-key object can wrap a b64 tf.Example; most requests hold none
        wrapped = 1 in map(len, parsed.rows)
    except TypeError:  # a row without a length (a number): the loop below sees to it
        wrapped = True
    if wrapped:
        parsed.rows = [_unwrapped(row, index) for index, row in enumerate(parsed.rows)]
    return parsed


def _predict_rows(request: dict) -> ParsedRequest:
    unexpected = sorted(set(request) - {"instances", "inputs", "signature_name"})
    if unexpected:
        raise ClientError(400, f"unexpected key {unexpected[0][:100]!r} in a predict request (expected \"instances\" or \"inputs\")")
    if ("instances" in request) == ("inputs" in request):
        raise ClientError(400, 'a predict request holds either "instances" (rows) or "inputs" (columns), exactly one of them')
    if "instances" in request:
        instances = request["instances"]
        if not isinstance(instances, list):
            raise ClientError(400, f'"instances" must be a list of rows, not {_kind(instances)}')
        return ParsedRequest(instances, columnar=False)
    inputs = request["inputs"]
    if isinstance(inputs, list):
        return ParsedRequest(inputs, columnar=True)  # the one named input, "examples"
    if not isinstance(inputs, dict):
        raise ClientError(400, f'"inputs" must be an object of columns, not {_kind(inputs)}')
    if set(inputs) == {INPUT} and isinstance(inputs[INPUT], list):
        return ParsedRequest(inputs[INPUT], columnar=True)
    lengths = set()
    for name, column in inputs.items():
        if not isinstance(column, list):
            raise ClientError(400, f"feature {name[:100]!r}: a column of \"inputs\" must be a list of values, not {_kind(column)}")
        lengths.add(len(column))
    if len(lengths) > 1:
        raise ClientError(400, f'the columns of "inputs" differ in length ({sorted(lengths)})')
    rows = [dict(zip(inputs, values)) for values in zip(*inputs.values())]
    return ParsedRequest(rows, columnar=True)


def _examples(request: dict) -> list:
    unexpected = sorted(set(request) - {"examples", "context", "signature_name"})
    if unexpected:
        raise ClientError(400, f"unexpected key {unexpected[0][:100]!r} (expected \"examples\" and optionally \"context\")")
    examples = request.get("examples")
    if not isinstance(examples, list):
        raise ClientError(400, f'"examples" must be a list of rows, not {_kind(examples)}')
    context = request.get("context")
    if context is None:
        return examples
    if not isinstance(context, dict):
        raise ClientError(400, f'"context" must be an object of feature values, not {_kind(context)}')
    merged = []
    for index, example in enumerate(examples):
        if not isinstance(example, dict):
            raise ClientError(400, f"instance {index}: an example must be an object of feature values, not {_kind(example)}")
        repeated = sorted(set(example) & set(context))
        if repeated:
            raise ClientError(400, f"instance {index}: feature {repeated[0][:100]!r} is in both the context and the example")
        merged.append({**context, **example})
    return merged


def _unwrapped(row: Any, index: int):
    """A row, with a serialized tf.Example ({"b64": ...} or {"examples": {"b64": ...}}) decoded."""
    if type(row) is dict and len(row) == 1:
        wrapped = row.get("b64", row.get(INPUT))
        if isinstance(wrapped, dict) and set(wrapped) == {"b64"}:
            wrapped = wrapped["b64"]
        elif "b64" not in row:
            return row
        if not isinstance(wrapped, str):
            raise ClientError(400, f"instance {index}: a b64 value must be a base64 string, not {_kind(wrapped)}")
        try:
            serialized = base64.b64decode(wrapped, validate=True)
        except (binascii.Error, ValueError):
            raise ClientError(400, f"instance {index}: the b64 value is not valid base64") from None
        try:
            return decode_example(serialized)
        except InstanceError as error:
            raise ClientError(400, f"instance {index}: {error}") from None
    return row


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
