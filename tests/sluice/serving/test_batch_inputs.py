"""Batch scoring's input files become the same tf.Examples the REST server makes of the same
values, or rejects naming file, row and reason; columns the model does not take are reported."""

import gzip

import pytest
import tensorflow as tf

from sluice.beam.tfrecords import tfrecord_frames
from sluice.data.rows import BadInputError, CsvFormat, RowError
from sluice.serving.batch_inputs import IgnoredColumns, Keyed, ScoringInput, read_scoring_input
from sluice.serving.raw_features import RawFeature, encode_instance

FORMAT = CsvFormat(
    columns=[["age", "int"], ["sex", "string"], ["occupation", "string"], ["income", "string"]],
    comment_prefix="|",
    missing_values=["?"],
    strip_suffixes={"income": "."},
)
FEATURES = {
    "age": RawFeature("int", required=True),
    "occupation": RawFeature("string", required=False),
    "sex": RawFeature("string", required=True),
}
SPEC = ScoringInput(FORMAT, "income", FEATURES)


def items(path, spec=SPEC):
    return list(read_scoring_input(str(path), spec))


def as_json(values):
    """The tf.Example the REST server makes of one JSON instance."""
    return encode_instance(values, FEATURES)


def test_rows_without_a_header_with_or_without_the_label_become_the_servers_examples(tmp_path):
    with_label = tmp_path / "with_label.csv.gz"
    with_label.write_bytes(gzip.compress(b"|a comment\n39, Male, Sales, >50K.\n\n50, Female, ?, <=50K.\n"))
    without_label = tmp_path / "without_label.csv"
    without_label.write_text("39,Male,Sales\n50,Female,?\n")
    expected = [as_json({"age": 39, "sex": "Male", "occupation": "Sales"}), as_json({"age": 50, "sex": "Female"})]

    for path, rows in [(with_label, [2, 4]), (without_label, [1, 2])]:
        found = items(path)
        assert [item.row for item in found] == rows
        assert [item.example for item in found] == expected
        assert all(isinstance(item, Keyed) and item.file == str(path) and item.key is None for item in found)


def test_a_header_orders_columns_and_extra_ones_are_reported_not_scored(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("id,sex,notes,age,income\nr1,Male,hello,39,>50K\nr2,Female,,x,<=50K\n")
    spec = ScoringInput(CsvFormat(**{**FORMAT.__dict__, "header": True}), "income", FEATURES, key_column="id")
    found = items(path, spec)
    assert found[0] == IgnoredColumns(str(path), ("notes",))  # id is the key, income the label: not reported
    assert found[1] == Keyed(str(path), 2, "r1", as_json({"age": 39, "sex": "Male"}))  # occupation is optional
    assert found[2] == RowError(str(path), 3, "age", "'x' is not an integer")


def test_a_header_without_a_required_feature_rejects_the_file_at_its_header(tmp_path):
    path = tmp_path / "no_sex.csv"
    path.write_text("age,occupation\n39,Sales\n")
    [reject] = items(path, ScoringInput(CsvFormat(**{**FORMAT.__dict__, "header": True}), "income", FEATURES))
    assert (reject.file, reject.row, reject.column) == (str(path), 1, "sex")
    assert "header lacks column 'sex'" in reject.reason


def test_bad_rows_are_rejected_with_their_row_and_reason(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("39,Male,Sales\n40,?,Sales\n41,Male\n42,Female,Sales,<=50K,extra\n")
    found = items(path)
    assert isinstance(found[0], Keyed)
    assert found[1] == RowError(str(path), 2, "sex", "feature 'sex': missing (this model needs it in every row)")
    assert (found[2].row, found[2].reason) == (3, "expected 3 fields, found 2 (missing column)")
    assert (found[3].row, found[3].reason) == (4, "expected 3 fields, found 5 (extra column)")


def example(**values) -> bytes:
    feature = {}
    for name, value in values.items():
        if isinstance(value, int):
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        elif isinstance(value, list):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=value))
        else:
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def test_tfrecord_examples_are_checked_like_rows(tmp_path):
    path = tmp_path / "rows.tfrecord"
    records = [
        example(age=39, sex="Male", income=">50K", colour="red", id="k1"),
        example(age="39", sex="Male"),
        example(age=39, sex=[b"Male", b"Female"]),
        b"not a proto \xff",
    ]
    path.write_bytes(tfrecord_frames(records) + b"\x01\x02")  # then a truncated record
    found = items(path, ScoringInput(FORMAT, "income", FEATURES, key_column="id"))
    assert found[0] == Keyed(str(path), 1, "k1", as_json({"age": 39, "sex": "Male"}))
    assert found[1] == RowError(str(path), 2, "age", "feature 'age': '39' is not an integer")
    assert found[2] == RowError(str(path), 3, "sex", "feature 'sex': 2 values, the model takes one")
    assert (found[3].row, found[3].reason.split(" (")[0]) == (4, "not a tf.Example")
    assert (found[4].row, found[4].reason) == (5, "a TFRecord header is truncated; the rest of the file is not read")
    assert found[5] == IgnoredColumns(str(path), ("colour",))


def test_a_csv_key_column_that_is_not_a_feature_needs_a_header(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("39,Male,Sales\n")
    with pytest.raises(BadInputError, match="a key column that is not a feature needs a header"):
        items(path, ScoringInput(FORMAT, "income", FEATURES, key_column="id"))
