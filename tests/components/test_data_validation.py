"""Validation catches injected problems, names them, and lets clean data through.

Clean serving files, built from the held-out sample rows, go through `validate_serving`
(ExampleGen, StatisticsGen and the validator, as `sluice validate` runs them) against the
training statistics of the shared census run. Each injected problem is about the
comparison, so its serving statistics are computed in memory by TFDV from the same
tf.Examples, and the pipeline's real serving validator compares them.
"""

import dataclasses
import io
import json
import statistics
from pathlib import Path

import pytest
import tensorflow as tf

from pipelines.census.features import LABEL_KEY
from pipelines.census.pipeline import CSV_FORMAT, create_pipeline
from sluice.artifacts import read_artifact, write_artifact
from sluice.data.rows import CsvFormat, Row, encode_example, read_rows, typed_values
from sluice.errors import GateClosed
from sluice.execute import execute
from sluice.validation.serving_check import SERVING_SPLIT, serving_components, validate_serving
from sluice.validation.statistics import Statistics, StatisticsSplit
from tests.helpers import CENSUS_SAMPLE_TEST, CENSUS_SAMPLE_TRAIN

CENSUS = CsvFormat(**CSV_FORMAT)


def sample_rows(path: Path) -> list[dict]:
    rows = read_rows(io.BytesIO(path.read_bytes()), str(path), CENSUS)
    return [typed_values(row, CENSUS) for row in rows if isinstance(row, Row)]


def write_serving(path: Path, rows: list[dict], fmt: CsvFormat = CENSUS) -> str:
    with tf.io.TFRecordWriter(str(path)) as writer:
        for values in rows:
            writer.write(encode_example(values, fmt))
    return str(path)


def without_label(rows):
    return [{k: v for k, v in row.items() if k != LABEL_KEY} for row in rows]


def check(census_run, serving_file):
    config, _ = census_run
    return validate_serving(create_pipeline(config), config.artifact_root, serving_file, LABEL_KEY)


def statistics_in_memory(directory: Path, split: str, rows: list[dict], fmt: CsvFormat = CENSUS) -> Path:
    """A statistics artifact holding `split`: TFDV's statistics of the rows' tf.Examples,
    computed in this process as StatisticsGen would compute them on Beam."""
    import tensorflow_data_validation as tfdv
    from tensorflow_data_validation.statistics.stats_impl import generate_statistics_in_memory
    from tfx_bsl.coders.example_coder import ExamplesToRecordBatchDecoder

    batch = ExamplesToRecordBatchDecoder().DecodeBatch([encode_example(values, fmt) for values in rows])
    with write_artifact(directory, type="Statistics", producer="test") as draft:
        stats = generate_statistics_in_memory(batch, tfdv.StatsOptions())
        with open(draft.file(Statistics.split_file(split)), "wb") as handle:
            handle.write(stats.SerializeToString())
        Statistics(splits={split: StatisticsSplit(num_examples=len(rows), file=Statistics.split_file(split))}).write(draft)
    return directory


def blocking_findings(census_run, tmp_path: Path, rows: list[dict], fmt: CsvFormat = CENSUS) -> list[dict]:
    """The serving validator's blocking findings on `rows`; its artifact is sealed although the gate closed."""
    config, result = census_run
    validator = serving_components(create_pipeline(config), "unused.csv", LABEL_KEY)[2]
    inputs = {
        "statistics": str(statistics_in_memory(tmp_path / "serving_statistics", SERVING_SPLIT, rows, fmt)),
        "schema": result.uri("schema_gen"),
        "baseline": result.uri("statistics_gen"),
    }
    validator = dataclasses.replace(validator, inputs={k: v for k, v in validator.inputs.items() if k in inputs})
    with pytest.raises(GateClosed) as raised:
        execute(validator, tmp_path / "run", inputs)
    sealed = tmp_path / "run" / validator.name
    summary = json.loads((sealed / "summary.json").read_text())
    assert (sealed / "report.html").exists() and summary["blocking"] > 0
    blocking = [f for f in summary["findings"] if f["blocking"]]
    for finding in blocking:
        assert finding["feature"] in str(raised.value)
    return blocking


def test_clean_held_out_rows_raise_no_blocking_finding(census_run, tmp_path):
    outcomes = check(census_run, write_serving(tmp_path / "clean.tfrecord", without_label(sample_rows(CENSUS_SAMPLE_TEST))))
    validation = read_artifact(outcomes[-1].uri)
    assert validation.properties["blocking"] == 0
    summary = json.loads(Path(validation.file("summary.json")).read_text())
    skew = [f for f in summary["findings"] if f["check"] == "skew"]
    assert len(skew) >= 14  # every feature compared, label aside
    assert all(set(f["distributions"]) == {"train", "serving"} for f in skew)


def test_clean_csv_rows_without_label_are_read_in_the_serving_layout(census_run, tmp_path):
    csv = tmp_path / "serving.csv"
    csv.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in CENSUS_SAMPLE_TEST.read_text().splitlines()))
    outcomes = check(census_run, str(csv))
    assert read_artifact(outcomes[0].uri).properties["rows"] == {"read": 300, "written": 300, "rejected": 0}
    assert read_artifact(outcomes[-1].uri).properties["blocking"] == 0


def test_numeric_shifted_by_one_standard_deviation_is_skew(census_run, tmp_path):
    rows = without_label(sample_rows(CENSUS_SAMPLE_TEST))
    shift = round(statistics.pstdev(r["age"] for r in sample_rows(CENSUS_SAMPLE_TRAIN)))
    shifted = [{**r, "age": r["age"] + shift} for r in rows]
    (finding,) = [f for f in blocking_findings(census_run, tmp_path, shifted) if f["check"] == "skew"]
    assert finding["feature"] == "age" and finding["measure"] == "Jensen-Shannon divergence"
    assert finding["value"] > finding["threshold"] == 0.1
    assert finding["distributions"]["train"]["kind"] == "histogram" and finding["distributions"]["serving"]["mean"] > finding["distributions"]["train"]["mean"]


def test_new_category_on_a_fifth_of_rows_is_named(census_run, tmp_path):
    rows = without_label(sample_rows(CENSUS_SAMPLE_TEST))
    changed = [{**r, "occupation": "Astronaut"} if i % 5 == 0 else r for i, r in enumerate(rows)]
    findings = blocking_findings(census_run, tmp_path, changed)
    kinds = {(f["check"], f["feature"]) for f in findings}
    assert ("schema", "occupation") in kinds and ("skew", "occupation") in kinds
    schema_finding = next(f for f in findings if f["check"] == "schema")
    assert "Astronaut" in schema_finding["description"]
    skew_finding = next(f for f in findings if f["check"] == "skew")
    assert skew_finding["measure"] == "L-infinity distance" and skew_finding["value"] >= 0.15


def test_dropped_column_is_named(census_run, tmp_path):
    rows = [{k: v for k, v in r.items() if k != "hours_per_week"} for r in without_label(sample_rows(CENSUS_SAMPLE_TEST))]
    findings = blocking_findings(census_run, tmp_path, rows)
    assert any(f["feature"] == "hours_per_week" and f["check"] == "schema" and "dropped" in f["kind"].lower() for f in findings)


def test_label_present_in_serving_data_is_named(census_run, tmp_path):
    findings = blocking_findings(census_run, tmp_path, sample_rows(CENSUS_SAMPLE_TEST))
    (finding,) = [f for f in findings if f["feature"] == LABEL_KEY]
    assert "not in the environment SERVING" in finding["description"]


def test_type_change_is_named(census_run, tmp_path):
    as_text = CsvFormat(**{**CSV_FORMAT, "columns": [[n, "string" if n == "age" else k] for n, k in CSV_FORMAT["columns"]]})
    rows = [{**r, "age": str(r["age"])} for r in without_label(sample_rows(CENSUS_SAMPLE_TEST))]
    findings = blocking_findings(census_run, tmp_path, rows, as_text)
    assert any(f["feature"] == "age" and "Expected data of type: INT but got STRING" in f["description"] for f in findings)


def test_drift_compares_a_new_span_with_the_previous_one(census_run, tmp_path):
    config, result = census_run
    rows = sample_rows(CENSUS_SAMPLE_TRAIN)
    spans = {"span1": rows, "span2": [{**r, "age": r["age"] + 15} for r in rows]}
    drift_only = dataclasses.replace(
        create_pipeline(config).component("example_validator"),
        inputs={"statistics": "statistics_gen", "schema": "schema_gen"},
        params={"splits": [], "drift_split": "train", "warn_only": []},
    )
    for run, span_rows in spans.items():
        span_statistics = statistics_in_memory(tmp_path / run / "statistics_gen", "train", span_rows)
        inputs = {"statistics": str(span_statistics), "schema": result.uri("schema_gen")}
        if run == "span2":
            with pytest.raises(GateClosed, match="split 'train', feature 'age': drift, Jensen-Shannon divergence"):
                execute(drift_only, tmp_path / run, inputs)
        else:
            execute(drift_only, tmp_path / run, inputs)
    first = read_artifact(tmp_path / "span1" / "example_validator")
    assert first.properties["drift_compared_with"] is None  # nothing before the first span
    second = read_artifact(tmp_path / "span2" / "example_validator")
    assert second.properties["drift_compared_with"] == str(tmp_path / "span1" / "statistics_gen")
    assert "gate_closed" in second.properties


def test_missing_rate_above_the_presence_constraint_is_named(census_run, tmp_path):
    rows = without_label(sample_rows(CENSUS_SAMPLE_TEST))
    # The reviewed schema allows occupation to be unknown in at most 10% of rows; here 1 in 3.
    thinned = [{k: v for k, v in r.items() if k != "occupation"} if i % 3 == 0 else r for i, r in enumerate(rows)]
    findings = blocking_findings(census_run, tmp_path, thinned)
    (finding,) = [f for f in findings if f["feature"] == "occupation" and f["check"] == "schema"]
    assert "0.9" in finding["description"]


def test_sampling_noise_of_the_sample_files_does_not_block_the_run(artifact):
    # 300 test rows against 540 train rows, with no feature exempted (warn_only empty).
    skew = artifact("skew_validator")
    summary = json.loads(Path(skew.file("summary.json")).read_text())
    compared = {f["feature"] for f in summary["findings"] if f["check"] == "skew"}
    assert {"age", "capital_gain", "education_num", "occupation"} <= compared
    assert skew.properties["blocking"] == 0 and artifact("pusher").properties["pushed"] is True


def test_row_accounting_is_in_the_validation_summary_and_report(artifact):
    validator = artifact("example_validator")
    rows = artifact("example_gen").properties["rows"]
    summary = json.loads(Path(validator.file("summary.json")).read_text())
    assert summary["rows"] == rows == {"read": 900, "written": 900, "rejected": 0}
    assert "read 900, written 900, rejected 0" in Path(validator.file("report.html")).read_text()
