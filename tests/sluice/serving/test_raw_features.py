"""A JSON row of raw values becomes the tf.Example the serving signature parses, or a named error."""

import pytest
import tensorflow as tf

from sluice.serving.raw_features import InstanceError, RawFeature, describe, encode_instance, read_raw_features, write_raw_features

FEATURES = describe({
    "age": tf.io.FixedLenFeature([], tf.int64),
    "hours": tf.io.FixedLenFeature([], tf.float32),
    "workclass": tf.io.VarLenFeature(tf.string),
})


def test_the_raw_spec_says_which_features_a_request_must_send(tmp_path):
    assert FEATURES == {
        "age": RawFeature("int", required=True),
        "hours": RawFeature("float", required=True),
        "workclass": RawFeature("string", required=False),
    }
    write_raw_features(tmp_path, FEATURES)
    assert read_raw_features(tmp_path) == FEATURES


def test_an_instance_is_encoded_with_each_features_type():
    example = tf.train.Example.FromString(encode_instance({"age": 39, "hours": 40, "workclass": ["State-gov"]}, FEATURES))
    feature = example.features.feature
    assert feature["age"].int64_list.value == [39]
    assert feature["hours"].float_list.value == [40.0]
    assert feature["workclass"].bytes_list.value == [b"State-gov"]
    optional_left_out = tf.train.Example.FromString(encode_instance({"age": 39, "hours": 1.5, "workclass": None}, FEATURES))
    assert "workclass" not in optional_left_out.features.feature


@pytest.mark.parametrize("instance, feature, words", [
    ({"hours": 1.0}, "age", "missing"),
    ({"age": 1, "hours": 1.0, "colour": "red"}, "colour", "unknown feature (expected: ['age', 'hours', 'workclass'])"),
    ({"age": "39", "hours": 1.0}, "age", "'39' is not an integer"),
    ({"age": 2**70, "hours": 1.0}, "age", "is not an integer"),
    ({"age": True, "hours": 1.0}, "age", "True is not an integer"),
    ({"age": 1, "hours": float("inf")}, "hours", "inf is not a finite number"),
    ({"age": 1, "hours": 1.0, "workclass": 7}, "workclass", "7 is not a string"),
])
def test_a_bad_instance_names_its_feature(instance, feature, words):
    with pytest.raises(InstanceError, match="") as raised:
        encode_instance(instance, FEATURES)
    assert raised.value.feature == feature
    assert words in str(raised.value)


def test_the_label_may_be_ignored_but_a_row_must_be_an_object():
    encode_instance({"age": 1, "hours": 1.0, "income": ">50K"}, FEATURES, ignore=frozenset({"income"}))
    with pytest.raises(InstanceError, match="must be an object"):
        encode_instance([1, 2.0], FEATURES)
