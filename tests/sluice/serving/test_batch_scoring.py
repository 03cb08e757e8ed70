"""The batch-scoring Beam job on DirectRunner (both modes) and as a Dataflow dry run, with a
tiny exported SavedModel of the same interface as the Trainer's (raw tf.Examples in)."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import tensorflow as tf

from sluice.beam.jobs import DryRunBuilt
from sluice.data.rows import CsvFormat
from sluice.modeling.export import RAW_SIGNATURE, load_serving_model, predict_raw
from sluice.serving.batch_inputs import ScoringInput
from sluice.serving.batch_scoring import OutputExists, score_files
from sluice.serving.raw_features import RawFeature, encode_instance, write_raw_features
from tests.components.test_dataflow_job import DATAFLOW_DRY_RUN, step_names

pytestmark = pytest.mark.beam

FORMAT = CsvFormat(columns=[["age", "int"], ["sex", "string"], ["hours", "float"], ["income", "string"]], missing_values=["?"])
FEATURES = {"age": RawFeature("int", True), "hours": RawFeature("float", False), "sex": RawFeature("string", True)}
SPEC = ScoringInput(FORMAT, "income", FEATURES)
IN_MEMORY = ["--direct_running_mode=in_memory"]
MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


class _TinyModel(tf.Module):
    """P = sigmoid(age/20 - 2 + hours/40 + [sex == Male]/2), parsing raw tf.Examples like the Trainer's export."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        raw = tf.io.parse_example(examples, {
            "age": tf.io.FixedLenFeature([], tf.int64),
            "hours": tf.io.FixedLenFeature([], tf.float32, default_value=40.0),
            "sex": tf.io.FixedLenFeature([], tf.string),
        })
        logit = tf.cast(raw["age"], tf.float32) / 20 - 2 + raw["hours"] / 40 + tf.cast(raw["sex"] == "Male", tf.float32) / 2
        return {"probability": tf.sigmoid(logit)}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("served") / "1"
    module = _TinyModel()
    tf.saved_model.save(module, str(path), signatures={RAW_SIGNATURE: module.serve})
    write_raw_features(path, FEATURES)
    return str(path)


@pytest.fixture
def inputs(tmp_path):
    """Two CSV files (one with the label column) with 7 good rows and 3 bad ones."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("30,Male,40,<=50K\n45,Female,?,>50K\nold,Male,40,<=50K\n60,Female,20.5,>50K\n")
    (tmp_path / "in" / "b.csv").write_text("22,Male,35\n,Female,50\n51,Female,45\n38,Male,60\n70,Female\n19,Male,10\n")
    return str(tmp_path / "in" / "*.csv")


GOOD = {
    ("a.csv", 1): {"age": 30, "sex": "Male", "hours": 40.0},
    ("a.csv", 2): {"age": 45, "sex": "Female"},
    ("a.csv", 4): {"age": 60, "sex": "Female", "hours": 20.5},
    ("b.csv", 1): {"age": 22, "sex": "Male", "hours": 35.0},
    ("b.csv", 3): {"age": 51, "sex": "Female", "hours": 45.0},
    ("b.csv", 4): {"age": 38, "sex": "Male", "hours": 60.0},
    ("b.csv", 6): {"age": 19, "sex": "Male", "hours": 10.0},
}
BAD = {("a.csv", 3): "age", ("b.csv", 2): "age", ("b.csv", 5): "hours"}


def expected_probabilities(model_dir):
    """What a direct call of the signature (the REST server's path) says for each good row."""
    keys = sorted(GOOD)
    found = predict_raw(load_serving_model(model_dir), [encode_instance(GOOD[key], FEATURES) for key in keys])
    return dict(zip(keys, found.tolist()))


def jsonl(directory, pattern):
    return [json.loads(line) for path in sorted(directory.glob(pattern)) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("beam_args", [IN_MEMORY, MULTI_PROCESSING], ids=["in_memory", "multi_processing"])
def test_every_row_is_scored_or_rejected_and_predictions_equal_a_direct_call(model_dir, inputs, tmp_path, beam_args):
    output = tmp_path / "scored"
    done = score_files(model_dir, inputs, str(output), SPEC, "jsonl", beam_args)

    assert (done.rows_read, done.rows_scored, done.rows_rejected) == (10, 7, 3)
    scored = {(r["file"].rsplit("/", 1)[1], r["row"]): r["probability"] for r in jsonl(output, "predictions-*.jsonl")}
    assert scored == expected_probabilities(model_dir)
    rejects = {(r["file"].rsplit("/", 1)[1], r["row"]): r["column"] for r in jsonl(output, "rejects-*.jsonl")}
    assert rejects == BAD
    summary = json.loads((output / "summary.json").read_text())
    assert (summary["rows_read"], summary["rows_scored"], summary["rows_rejected"]) == (10, 7, 3)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind


def test_csv_and_parquet_outputs_carry_the_key_column(model_dir, tmp_path):
    (tmp_path / "keyed.csv").write_text("sex,id,age,income,hours\nMale,k1,30,<=50K,40\nFemale,k2,45,>50K,\n")
    spec = ScoringInput(CsvFormat(**{**FORMAT.__dict__, "header": True}), "income", FEATURES, key_column="id")
    expected = expected_probabilities(model_dir)

    score_files(model_dir, str(tmp_path / "keyed.csv"), str(tmp_path / "csv"), spec, "csv", IN_MEMORY)
    [csv_file] = (tmp_path / "csv").glob("predictions-*.csv")
    header, *lines = csv_file.read_text().splitlines()
    assert header == "file,row,id,probability"
    rows = sorted(line.split(",")[1:] for line in lines)
    assert rows == [["2", "k1", repr(expected[("a.csv", 1)])], ["3", "k2", repr(expected[("a.csv", 2)])]]

    score_files(model_dir, str(tmp_path / "keyed.csv"), str(tmp_path / "parquet"), spec, "parquet", IN_MEMORY)
    table = pq.read_table(sorted((tmp_path / "parquet").glob("predictions-*.parquet"))).sort_by("row")
    assert table.column_names == ["file", "row", "id", "probability"]
    assert table.column("id").to_pylist() == ["k1", "k2"]
    np.testing.assert_array_equal(table.column("probability").to_numpy(), [expected[("a.csv", 1)], expected[("a.csv", 2)]])


def test_an_existing_output_is_never_overwritten(model_dir, inputs, tmp_path):
    (tmp_path / "scored").mkdir()
    (tmp_path / "scored" / "keep.txt").write_text("earlier results")
    with pytest.raises(OutputExists, match="never overwrites"):
        score_files(model_dir, inputs, str(tmp_path / "scored"), SPEC, "csv", IN_MEMORY)
    assert [p.name for p in (tmp_path / "scored").iterdir()] == ["keep.txt"]


def test_a_dataflow_dry_run_builds_the_job_and_writes_nothing(model_dir, inputs, tmp_path):
    with pytest.raises(DryRunBuilt) as built:
        score_files(model_dir, inputs, str(tmp_path / "scored"), SPEC, "parquet", DATAFLOW_DRY_RUN)
    names = step_names(built.value.job)
    for step in ["ListInputFiles", "ReadRows", "Spread", "Score", "WritePredictions", "WriteRejects"]:
        assert step in names, step
    assert "RunInference" in names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # no output, no staging
