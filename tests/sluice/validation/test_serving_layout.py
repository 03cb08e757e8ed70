"""How a serving file's columns are found: a header line, or the raw layout; JSON rows as tf.Examples."""

import gzip
import io

import pytest
import tensorflow as tf

from sluice.data.json_rows import write_json_rows_as_examples
from sluice.data.rows import BadInputError, CsvFormat, first_line_fields, looks_like_header
from sluice.validation.serving_check import serving_layout

TRAINING = CsvFormat(
    columns=[["age", "int"], ["city", "string"], ["fare", "float"], ["label", "string"]],
    comment_prefix="|",
    strip_suffixes={"label": ".", "city": "!"},
)


@pytest.mark.parametrize(
    "line, header",
    [
        ("age,city,fare", True),
        ("fare , age, city, label, note", True),  # any order, an extra column, the label
        ("age,note,other", False),  # mostly unknown names: a row of text values
        ("39,Paris,12.5", False),
        ("", False),
    ],
)
def test_a_header_is_a_line_of_column_names(line, header):
    assert looks_like_header(line.split(",") if line else [], list(TRAINING.columns)) == header


def test_the_first_line_skips_blanks_and_comments():
    handle = io.BytesIO(b"\n|a comment line\n age, city\n39,Paris\n")
    assert first_line_fields(handle, TRAINING) == ["age", "city"]


def test_a_header_file_reads_the_columns_it_has_and_reports_the_others(tmp_path):
    path = tmp_path / "serving.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("fare,label,note,city\n12.5,yes,x,Paris\n")
    layout = serving_layout(str(path), TRAINING, "label")
    assert layout.format.header and dict(layout.format.columns) == {"city": "string", "fare": "float"}
    assert dict(layout.format.strip_suffixes) == {"city": "!"}
    assert layout.extra_columns == ("label", "note")


def test_a_headerless_file_keeps_the_raw_layout_without_the_label(tmp_path):
    path = tmp_path / "serving.csv"
    path.write_text("39,Paris,12.5\n")
    layout = serving_layout(str(path), TRAINING, "label")
    assert not layout.format.header and list(layout.format.columns) == ["age", "city", "fare"]
    assert layout.extra_columns == ()


def read_examples(path):
    return [tf.train.Example.FromString(record.numpy()) for record in tf.data.TFRecordDataset(path)]


def test_json_rows_become_typed_examples_with_extra_keys_returned(tmp_path):
    columns = {"age": "int", "city": "string", "fare": "float"}
    rows = b'{"age": 39, "city": "Paris", "fare": 12, "request": 1}\n\n{"age": null, "fare": 3.5, "label": "no"}\n'
    target = str(tmp_path / "rows.tfrecord")
    assert write_json_rows_as_examples(io.BytesIO(rows), "rows.jsonl", columns, target) == (2, ["request", "label"])
    first, second = read_examples(target)
    assert first.features.feature["age"].int64_list.value == [39] and first.features.feature["fare"].float_list.value == [12.0]
    assert set(second.features.feature) == {"fare"}  # null and absent values are missing


def test_a_json_array_is_read_too_and_a_bad_value_names_its_row_and_column(tmp_path):
    target = str(tmp_path / "rows.tfrecord")
    assert write_json_rows_as_examples(io.BytesIO(b'[{"age": 1}, {"age": 2}]'), "rows.json", {"age": "int"}, target)[0] == 2
    with pytest.raises(BadInputError, match=r"rows.json, row 2, column 'age': 'old' is not an integer"):
        write_json_rows_as_examples(io.BytesIO(b'[{"age": 1}, {"age": "old"}]'), "rows.json", {"age": "int"}, target)
    with pytest.raises(BadInputError, match=r"rows.jsonl, row 2: not JSON"):
        write_json_rows_as_examples(io.BytesIO(b'{"age": 1}\n{"age": \n'), "rows.jsonl", {"age": "int"}, target)
