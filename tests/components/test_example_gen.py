import io
import json

import pytest
import tensorflow as tf

from components.example_gen.blocks import Block, _parse_row_by_row, encode_examples, parse_block, read_blocks, row_keys, split_indices
from sluice.data.rows import BadInputError, CsvFormat, Row, RowError, encode_example, read_rows, typed_values
from pipelines.census.pipeline import CSV_FORMAT, CensusConfig, create_pipeline
from sluice.artifacts import fingerprint_dir, read_artifact
from sluice.config import apply_overrides
from sluice.execute import execute
from sluice.pipeline import Component
from tests.helpers import CENSUS_SAMPLE_TEST, CENSUS_SAMPLE_TRAIN

CENSUS = CsvFormat(**CSV_FORMAT)
GOOD = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n"


def rows_of(text: str, fmt: CsvFormat = CENSUS):
    return list(read_rows(io.BytesIO(text.encode()), "f.csv", fmt))


def test_census_row_is_typed_with_spaces_suffixes_and_unknowns_handled():
    text = "|1x3 Cross validator\n" + GOOD.replace("State-gov", "?").replace("<=50K", ">50K.") + "\n"
    (row,) = rows_of(text)
    assert row.row == 2
    values = typed_values(row, CENSUS)
    assert values["age"] == 39 and values["fnlwgt"] == 77516 and values["income_bracket"] == ">50K"
    assert "workclass" not in values  # '?' means unknown: left out of the example
    example = tf.train.Example.FromString(encode_example(values, CENSUS))
    assert example.features.feature["age"].int64_list.value == [39]
    assert example.features.feature["sex"].bytes_list.value == [b"Male"]


def test_short_row_names_file_row_and_missing_column():
    (_, error) = rows_of(GOOD + GOOD.rsplit(",", 1)[0] + "\n")
    assert isinstance(error, RowError)
    assert str(error) == "f.csv, row 2, column 'income_bracket': expected 15 fields, found 14 (missing column)"


def test_non_numeric_value_names_file_row_and_column():
    (row,) = rows_of(GOOD.replace("39,", "forty,"))
    error = typed_values(row, CENSUS)
    assert str(error) == "f.csv, row 1, column 'age': 'forty' is not an integer"


def test_header_lacking_a_column_is_named():
    fmt = CsvFormat(columns={"a": "int", "b": "string"}, header=True)
    (error,) = rows_of("a,c\n1,x\n", fmt)
    assert (error.row, error.column) == (1, "b")


def test_header_columns_are_reordered_by_name():
    fmt = CsvFormat(columns={"a": "int", "b": "string"}, header=True)
    (row,) = rows_of("b,extra,a\nx,y,1\n", fmt)
    assert row.fields == ("1", "x") and row.row == 2


def test_undecodable_bytes_are_reported_with_their_row():
    items = list(read_rows(io.BytesIO(GOOD.encode() + b"\xff\xfe bad\n" + GOOD.encode()), "f.csv", CENSUS))
    errors = [i for i in items if isinstance(i, RowError)]
    assert [e.row for e in errors] == [2] and "not UTF-8" in errors[0].reason
    assert sum(isinstance(i, Row) for i in items) == 2


def test_split_is_a_stable_function_of_the_row():
    splits = {"train": 90, "eval": 10}
    keys = [f"row {i}" for i in range(2000)]
    chosen = split_indices(keys, splits)
    assert (chosen == split_indices(list(reversed(keys)), splits)[::-1]).all()  # per row, not per position
    assert 0.87 < (chosen == 0).mean() < 0.93


def test_fast_and_row_by_row_paths_give_the_same_rows_splits_and_examples():
    text = CENSUS_SAMPLE_TEST.read_bytes()
    (block,) = [b for b in read_blocks(io.BytesIO(text), "t", CENSUS) if isinstance(b, Block)]
    fast, exact = parse_block(block, CENSUS), _parse_row_by_row(block, CENSUS)
    assert fast.table.num_rows == 300 and fast.table.equals(exact.table)
    assert (fast.line_numbers == exact.line_numbers).all() and fast.line_numbers[0] == 2  # line 1 is a comment
    assert (split_indices(row_keys(fast.table), {"a": 50, "b": 50}) == split_indices(row_keys(exact.table), {"a": 50, "b": 50})).all()
    first = tf.train.Example.FromString(encode_examples(fast.table.slice(0, 1))[0])
    assert first.features.feature["income_bracket"].bytes_list.value == [b"<=50K"]  # the '.' of adult.test is gone
    assert first.features.feature["age"].int64_list.value == [25]


def test_a_bad_row_in_a_block_is_named_and_its_neighbours_kept():
    bad = GOOD + GOOD.replace("39,", "thirty-nine,") + GOOD
    (block,) = read_blocks(io.BytesIO(bad.encode()), "f.csv", CENSUS)
    parsed = parse_block(block, CENSUS)
    assert parsed.table.num_rows == 2 and list(parsed.line_numbers) == [1, 3]
    assert [str(e) for e in parsed.rejects] == ["f.csv, row 2, column 'age': 'thirty-nine' is not an integer"]


def _example_gen(train_file, test_file, max_reject_fraction=0.0) -> Component:
    config = apply_overrides(
        CensusConfig(home="/unused"),
        [f"data.train_file={train_file}", f"data.test_file={test_file}", f"data.max_reject_fraction={max_reject_fraction}"],
    )
    return create_pipeline(config).component("example_gen")


@pytest.mark.beam
def test_example_gen_writes_every_row_to_one_split(tmp_path):
    outcome = execute(_example_gen(CENSUS_SAMPLE_TRAIN, CENSUS_SAMPLE_TRAIN), tmp_path / "run", {})
    splits = read_artifact(outcome.uri).properties["splits"]
    assert splits["train"]["rows"] + splits["eval"]["rows"] == 600 and splits["test"]["rows"] == 600
    written = sum(1 for _ in tf.data.TFRecordDataset(tf.io.gfile.glob(f"{outcome.uri}/train/data-*.tfrecord")))
    assert written == splits["train"]["rows"]


@pytest.mark.beam
@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda line: line.rsplit(",", 1)[0], r"row 5, column 'income_bracket': expected 15 fields, found 14"),
        (lambda line: line.replace("40,", "forty,", 1), r"row 5, column 'hours_per_week': 'forty' is not an integer"),
    ],
    ids=["missing_column", "non_numeric"],
)
def test_bad_input_stops_example_gen_and_keeps_the_good_run(tmp_path, corrupt, message):
    good = execute(_example_gen(CENSUS_SAMPLE_TRAIN, CENSUS_SAMPLE_TRAIN), tmp_path / "good_run", {})
    good_fingerprint = fingerprint_dir(good.uri)

    lines = CENSUS_SAMPLE_TRAIN.read_text().splitlines(keepends=True)
    lines[4] = corrupt(lines[4].rstrip("\n")) + "\n"
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text("".join(lines))
    with pytest.raises(BadInputError, match=message) as raised:
        execute(_example_gen(bad_file, CENSUS_SAMPLE_TRAIN), tmp_path / "bad_run", {})
    assert str(bad_file) in str(raised.value) and "1 of 1200 rows rejected" in str(raised.value)
    # No artifact, no draft: only the list of rejected rows is kept beside the run.
    assert [p.name for p in (tmp_path / "bad_run").iterdir()] == ["example_gen.rejects.jsonl"]
    (reject,) = [json.loads(line) for line in (tmp_path / "bad_run" / "example_gen.rejects.jsonl").read_text().splitlines()]
    assert (reject["file"], reject["row"]) == (str(bad_file), 5)
    assert fingerprint_dir(good.uri) == good_fingerprint


@pytest.mark.beam
def test_malformed_rows_within_the_allowed_share_are_listed_exactly(tmp_path):
    lines = CENSUS_SAMPLE_TRAIN.read_text().splitlines(keepends=True)
    lines[9] = lines[9].replace(" 40,", " forty,", 1)  # row 10: not a number
    lines[99] = lines[99].rsplit(",", 2)[0] + "\n"  # row 100: two fields short
    lines[199] = lines[199].rstrip("\n") + ", surplus\n"  # row 200: a field too many
    data = [line.encode() for line in lines]
    data[299] = b"\xff" + data[299]  # row 300: not UTF-8
    source = tmp_path / "mixed.data"
    source.write_bytes(b"".join(data))

    outcome = execute(_example_gen(source, CENSUS_SAMPLE_TEST, max_reject_fraction=0.01), tmp_path / "run", {})
    artifact = read_artifact(outcome.uri)
    rejects = [json.loads(line) for line in open(artifact.file("rejects.jsonl"))]
    assert [(r["file"], r["row"]) for r in rejects] == [(str(source), 10), (str(source), 100), (str(source), 200), (str(source), 300)]
    assert [r["column"] for r in rejects] == ["hours_per_week", "native_country", None, None]
    assert "not UTF-8" in rejects[3]["reason"] and "extra column" in rejects[2]["reason"]
    assert artifact.properties["rows"] == {"read": 900, "written": 896, "rejected": 4}
    splits = artifact.properties["splits"]
    assert sum(split["rows"] for split in splits.values()) == 896
