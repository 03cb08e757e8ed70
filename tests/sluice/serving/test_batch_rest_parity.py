"""The two ways a pushed model serves, on the same rows: `sluice batch-predict` (a Beam job over
a CSV file) and the REST server (the rows as JSON instances) give identical probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from pipelines.census.pipeline import CSV_FORMAT, LABEL_KEY, NAME
from sluice.data.rows import CsvFormat, Row, read_rows, typed_values
from sluice.serving.server import serve_in_thread
from sluice.serving.service import ServingOptions
from tests.helpers import CENSUS_SAMPLE_TEST, sluice


def test_batch_predict_and_rest_give_identical_predictions(census_run, tmp_path):
    rows_file = tmp_path / "rows.csv"
    rows_file.write_text("\n".join(CENSUS_SAMPLE_TEST.read_text().splitlines()[:80]) + "\n")
    output = tmp_path / "scored"
    completed = sluice(
        "batch-predict", NAME, "--home", census_run.config.home, "--input", str(rows_file),
        "--output", str(output), "--format", "jsonl", "--direct_running_mode=in_memory",
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    batch = {}
    for path in output.glob("predictions-*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            batch[record["row"]] = record["probability"]

    fmt = CsvFormat(**CSV_FORMAT)
    with open(rows_file, "rb") as handle:
        rows = [row for row in read_rows(handle, str(rows_file), fmt) if isinstance(row, Row)]
    instances = [{k: v for k, v in typed_values(row, fmt).items() if k != LABEL_KEY} for row in rows]
    base = Path(census_run.config.serving_root) / NAME
    with serve_in_thread(ServingOptions(models={NAME: base}, poll_seconds=60)) as server:
        server.wait_ready(timeout=120)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answer = client.post(f"/v1/models/{NAME}:predict", json={"instances": instances})
            one = client.post(f"/v1/models/{NAME}:predict", json={"instances": instances[:1]})
    assert answer.status_code == 200, answer.text
    rest = dict(zip((row.row for row in rows), answer.json()["predictions"]))

    assert len(batch) == len(rest) == len(rows) >= 70
    assert rest == batch  # identical, not close
    assert one.json()["predictions"] == [batch[rows[0].row]]  # alone in its model call, too
    assert len(set(rest.values())) > 10  # the rows are not all scored alike
