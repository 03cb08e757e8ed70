"""`:predict` row bodies decoded against a model's features give the tf.Examples of the
general path, and every body the typed path does not take is left to the general path."""

from __future__ import annotations

import json
import random

import orjson
import pytest

from sluice.serving.example_encoder import ExampleEncoder
from sluice.serving.raw_features import RawFeature
from sluice.serving.rest_requests import parse_body
from sluice.serving.typed_rows import InstancesDecoder, row_json

FEATURES = {
    "age": RawFeature("int", required=True),
    "hours per week": RawFeature("float", required=True),  # not a Python identifier
    "workclass": RawFeature("string", required=False),
    "class": RawFeature("string", required=True),  # a Python keyword
}
ROW = {"age": 39, "hours per week": 40.5, "workclass": "Private", "class": "a"}


def decoder() -> InstancesDecoder:
    return InstancesDecoder(FEATURES, "serving_default")


def random_rows(count: int, rng: random.Random) -> list[dict]:
    ints = [0, 1, -1, 127, 128, 300, 2**31, -(2**40), 2**63 - 1, -(2**63), rng.randint(-(2**62), 2**62)]
    floats = [0.0, -0.5, 1, 3.25, 1e-30, 3.4e38, -1e10, 7, rng.uniform(-1e6, 1e6)]
    strings = ["", "Private", "é中😀", "x" * 300, "Self-emp-not-inc", f"new-{rng.random()}"]
    rows = []
    for _ in range(count):
        row = {"class": rng.choice(strings), "age": rng.choice(ints), "hours per week": rng.choice(floats)}
        if rng.random() < 0.7:
            row["workclass"] = rng.choice(strings + [None])  # left out, null, or a value
        keys = list(row)
        rng.shuffle(keys)  # clients send keys in any order
        rows.append({key: row[key] for key in keys})
    return rows


def test_typed_rows_encode_to_the_bytes_of_the_general_path():
    rows_decoder, encoder = decoder(), ExampleEncoder(FEATURES)
    rng = random.Random(7)
    for size in (1, 2, 33, 300):
        for _ in range(3):  # later rounds read the encoder's caches
            body = orjson.dumps({"instances": random_rows(size, rng)})
            typed = rows_decoder.decode(body, 10_000)
            assert typed is not None, body[:200]
            assert encoder.encode_typed(typed.columns) == encoder.encode_all(parse_body(body, "predict", 10_000).rows)


def test_a_left_out_feature_reads_none_and_each_row_logs_as_sent():
    rows = [{"age": 1, "hours per week": 2.5, "class": "a"}, {**ROW, "workclass": None}, ROW]
    typed = decoder().decode(orjson.dumps({"instances": rows, "signature_name": ""}), 10)
    assert typed.columns == [(1, 39, 39), (2.5, 40.5, 40.5), (None, None, "Private"), ("a", "a", "a")]
    assert [row_json(row) for row in typed.rows] == rows


@pytest.mark.parametrize("instance", [
    {**ROW, "age": True},  # a boolean is not an integer
    {**ROW, "age": 39.0},
    {**ROW, "age": "39"},
    {**ROW, "class": 3},
    {**ROW, "age": [39]},  # one-element lists: the general path takes them
    {key: value for key, value in ROW.items() if key != "age"},  # a required feature left out
    {**ROW, "class": None},
    {**ROW, "extra": 1},
    {"b64": "AAAA"},
])
def test_a_row_the_typed_path_does_not_take_goes_the_general_way(instance):
    assert decoder().decode(orjson.dumps({"instances": [ROW, instance]}), 10) is None


@pytest.mark.parametrize("body", [
    b"", b"{", b"[]", b'{"instances": []}', b'{"instances": {}}',
    orjson.dumps({"instances": [ROW] * 11}),  # more than max_instances
    orjson.dumps({"inputs": {"age": [39]}}),
    orjson.dumps({"instances": [ROW], "inputs": [ROW]}),
    orjson.dumps({"instances": [ROW], "signature_name": "other"}),
    orjson.dumps({"examples": [ROW]}),
])
def test_a_body_of_another_shape_goes_the_general_way(body):
    assert decoder().decode(body, 10) is None


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**70])
def test_an_integer_out_of_int64_is_left_for_the_general_path_to_name(value):
    body = json.dumps({"instances": [ROW, {**ROW, "age": value}]}).encode()  # orjson stops at 64 bits
    typed = decoder().decode(body, 10)
    assert typed is not None and ExampleEncoder(FEATURES).encode_typed(typed.columns) is None


def test_a_float_beyond_float32_is_left_for_the_general_path_to_name():
    typed = decoder().decode(b'{"instances": [{"age": 1, "hours per week": 1e39, "class": "a"}]}', 10)
    assert typed is not None and ExampleEncoder(FEATURES).encode_typed(typed.columns) is None
