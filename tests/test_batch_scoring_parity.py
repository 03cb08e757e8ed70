"""`sluice batch-predict` on the census model a run pushed gives each row the same probability
as a direct call of the loaded signature on the same row, the call the REST server makes."""

import json
from pathlib import Path

from pipelines.census.pipeline import CSV_FORMAT, LABEL_KEY, NAME
from sluice.data.rows import CsvFormat, Row, read_rows, typed_values
from sluice.modeling.export import load_serving_model, predict_raw
from sluice.modeling.predict import latest_version
from sluice.serving.raw_features import encode_instance, read_raw_features
from tests.helpers import CENSUS_SAMPLE_TEST, sluice


def direct_probabilities(model_dir: Path, csv_file: Path) -> dict[int, float]:
    """Row number -> probability: each row as a JSON instance (label withheld) through predict_raw in one call."""
    fmt, features = CsvFormat(**CSV_FORMAT), read_raw_features(model_dir)
    with open(csv_file, "rb") as handle:
        rows = [row for row in read_rows(handle, str(csv_file), fmt) if isinstance(row, Row)]
    instances = [{k: v for k, v in typed_values(row, fmt).items() if k != LABEL_KEY} for row in rows]
    found = predict_raw(load_serving_model(str(model_dir)), [encode_instance(i, features) for i in instances])
    return {row.row: float(p) for row, p in zip(rows, found)}


def test_batch_predict_equals_the_direct_call_row_by_row(census_run, tmp_path):
    model_dir = latest_version(Path(census_run.config.serving_root) / NAME)
    rows = tmp_path / "rows.csv"
    lines = CENSUS_SAMPLE_TEST.read_text().splitlines()
    rows.write_text("\n".join(lines[:120] + ["39, Private, not-a-number, Bachelors"]) + "\n")
    output = tmp_path / "scored"

    completed = sluice(
        "batch-predict", "census", "--home", census_run.config.home, "--input", str(rows),
        "--output", str(output), "--format", "jsonl", "--direct_running_mode=in_memory",
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    expected = direct_probabilities(model_dir, rows)
    scored = {}
    for path in output.glob("predictions-*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            scored[record["row"]] = record["probability"]
    assert len(scored) == len(expected) >= 100
    assert scored == expected  # identical, not close
    [reject] = [json.loads(line) for p in output.glob("rejects-*.jsonl") for line in p.read_text().splitlines()]
    assert reject["row"] == 121
    read, rejected = len(expected) + 1, 1
    assert f"Rows in {read} = scored {len(expected)} + rejected {rejected}" in completed.stdout
