"""The cached fast encoder gives the tf.Example `encode_instance` gives, and the same errors."""

from __future__ import annotations

import random

import pytest
import tensorflow as tf

from sluice.serving.example_encoder import ExampleEncoder, decode_example
from sluice.serving.raw_features import InstanceError, RawFeature, encode_instance

FEATURES = {
    "age": RawFeature("int", required=True),
    "hours": RawFeature("float", required=True),
    "workclass": RawFeature("string", required=False),
}


def random_rows(count: int, seed: int = 4):
    rng = random.Random(seed)
    ints = [0, 1, -1, 127, 128, 300, 2**31, -(2**40), 2**63 - 1, -(2**63)]
    floats = [0.0, -0.5, 1, 3.25, 1e-30, 3.4e38, -1e10, 7]
    strings = ["", "Private", "é中😀", "x" * 300, "Self-emp-not-inc"]
    rows = []
    for _ in range(count):
        row = {"age": rng.choice(ints), "hours": rng.choice(floats)}
        if rng.random() < 0.7:
            row["workclass"] = rng.choice(strings + [None])
        if rng.random() < 0.2:
            name = rng.choice(["age", "hours"])
            row[name] = [row[name]]  # a one-element list, as TF Serving's JSON allows
        rows.append(row)
    return rows


def test_each_row_parses_to_the_same_features_as_encode_instance():
    encoder = ExampleEncoder(FEATURES)
    for row in random_rows(500) * 2:  # the second pass reads the caches
        fast = tf.train.Example.FromString(encoder.encode(row))
        assert fast == tf.train.Example.FromString(encode_instance(row, FEATURES)), row


def test_a_batch_encoded_column_by_column_equals_encode_instance_row_by_row():
    encoder = ExampleEncoder(FEATURES)
    rng = random.Random(5)
    for size in (2, 33, 300):
        rows = [
            {"age": rng.choice([rng.randint(-(2**63), 2**63 - 1), rng.randint(-300, 300), 0]), "hours": rng.uniform(-1e6, 1e6),
             **({"workclass": rng.choice(["Private", "", None, "é"])} if rng.random() < 0.8 else {})}
            for _ in range(size)
        ]
        for _ in range(2):  # the second time from the caches
            encoded = encoder.encode_all(rows)
            assert [tf.train.Example.FromString(e) for e in encoded] == [tf.train.Example.FromString(encode_instance(r, FEATURES)) for r in rows]


def test_a_batch_with_lists_or_unknown_features_among_its_rows_is_encoded_as_row_by_row():
    encoder = ExampleEncoder(FEATURES)
    good = [{"age": 1, "hours": 2.0, "workclass": "Private"}, {"age": 2, "hours": 3.0}]
    listed = good + [{"age": [3], "hours": [4.0], "workclass": ["Private"]}, {"age": 4, "hours": 5.0, "workclass": None}]
    assert [tf.train.Example.FromString(e) for e in encoder.encode_all(listed)] == [
        tf.train.Example.FromString(encode_instance(r, FEATURES)) for r in listed
    ]
    for unknown in ({"age": 1, "hours": 2.0, "extra": 1}, {"age": 1, "hours": 2.0, "workclass": "x", "extra": None},
                    {"age": 1, "hours": 2.0, "workclass": None, "extra": "x"}):
        with pytest.raises(InstanceError, match="instance 2: feature 'extra': unknown feature"):
            encoder.encode_all(good + [unknown])


@pytest.mark.parametrize("row, words", [
    ({"hours": 1.0}, "feature 'age': missing"),
    ({"age": True, "hours": 1.0}, "True is not an integer"),
    ({"age": 1.5, "hours": 1.0}, "1.5 is not an integer"),
    ({"age": 2**63, "hours": 1.0}, "is not an integer"),
    ({"age": 1, "hours": 1e39}, "is not a finite number"),
    ({"age": 1, "hours": 1.0, "workclass": 3}, "3 is not a string"),
    ({"age": 1, "hours": 1.0, "extra": 3}, "feature 'extra': unknown feature"),
    (["age", 1], "must be an object"),
])
def test_a_bad_row_gets_encode_instances_error(row, words):
    with pytest.raises(InstanceError, match="") as raised:
        ExampleEncoder(FEATURES).encode_all([{"age": 1, "hours": 1.0}, row])
    assert str(raised.value).startswith("instance 1: ") and words in str(raised.value)


def test_a_serialized_example_decodes_to_its_row():
    row = {"age": 39, "hours": 40.5, "workclass": "Private"}
    assert decode_example(encode_instance(row, FEATURES)) == row
    two_values = tf.train.Example()
    two_values.features.feature["age"].int64_list.value.extend([1, 2])
    with pytest.raises(InstanceError, match="2 values"):
        decode_example(two_values.SerializeToString())
    with pytest.raises(InstanceError, match="not a serialized tf.Example"):
        decode_example(b"\xff\xff\xff")
