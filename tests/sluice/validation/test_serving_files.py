"""Real-looking data through validation: a heavy-tailed table split three ways from one file,
two spans of it (drift), and `sluice validate --serving` on samples of the training file in the
shapes people have: a header in any column order, an extra column, a missing column, JSON rows."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from sluice.artifacts import read_artifact
from sluice.errors import GateClosed
from sluice.pipeline import Component, Pipeline
from sluice.runner import run_pipeline
from sluice.validation.serving_check import validate_serving

LABEL = "big_tip"
COLUMNS = [["miles", "float"], ["seconds", "float"], ["passengers", "int"], ["company", "string"], [LABEL, "string"]]
COMPANIES = [f"Cab Co {i:02d}" for i in range(40)]
BEAM_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1")

pytestmark = pytest.mark.beam


def trips(rows: int, seed: int) -> list[dict]:
    """Taxi-like rows: lognormal miles and seconds, one 1,710-mile outlier, a long tail of companies."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(COMPANIES) + 1)
    miles = rng.lognormal(1.0, 1.0, rows)
    miles[0] = 1710.0
    return [
        {
            "miles": round(float(m), 3),
            "seconds": round(float(rng.lognormal(6.5, 0.8)), 1),
            "passengers": int(rng.choice([1, 1, 1, 2, 2, 3, 5])),
            "company": str(rng.choice(COMPANIES, p=weights / weights.sum())),
            LABEL: "yes" if rng.random() < 0.3 else "no",
        }
        for m in miles
    ]


def write_csv(path: Path, rows: list[dict], columns: list[str], header: bool = True) -> str:
    lines = [",".join(columns)] if header else []
    lines += [",".join(str(row[c]) for c in columns) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def pipeline(data_file: str) -> Pipeline:
    return Pipeline(
        "trips",
        (
            Component(
                "example_gen",
                "components.example_gen.component:SPEC",
                params={"sources": [{"pattern": data_file, "splits": {"train": 80, "eval": 10, "test": 10}}], "format": {"columns": COLUMNS, "header": True}},
            ),
            Component("statistics_gen", "components.statistics_gen:SPEC", {"examples": "example_gen"}),
            Component("schema_gen", "components.schema_gen:SPEC", {"statistics": "statistics_gen"}, {"label": LABEL}),
            Component(
                "example_validator",
                "components.example_validator:SPEC",
                {"statistics": "statistics_gen", "schema": "schema_gen", "examples": "example_gen"},
                {"splits": ["eval", "test"], "drift_split": "train"},
            ),
            Component(
                "skew_validator",
                "components.example_validator:SPEC",
                {"statistics": "statistics_gen", "schema": "schema_gen"},
                {"splits": [], "skew_training_split": "train", "skew_serving_split": "test"},
            ),
        ),
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two spans of the same trips: each split three ways by hash, the second drift-checked against the first."""
    home = tmp_path_factory.mktemp("trips")
    names = [name for name, _ in COLUMNS]
    results = []
    for span, seed in (("span1", 1), ("span2", 2)):
        data = write_csv(home / f"{span}.csv", trips(1500, seed), names)
        results.append(run_pipeline(pipeline(data), home / "artifacts", run_id=span, beam_args=BEAM_ARGS))
    return home, results


def summary(uri: str) -> dict:
    return json.loads(Path(read_artifact(uri).file("summary.json")).read_text())


def test_random_splits_and_spans_of_one_heavy_tailed_file_raise_no_blocking_finding(trained):
    _, (first, second) = trained
    for result in (first, second):
        for validator in ("example_validator", "skew_validator"):
            assert read_artifact(result.uri(validator)).properties["blocking"] == 0
    skew = {f["feature"] for f in summary(second.uri("skew_validator"))["findings"] if f["check"] == "skew"}
    assert {"miles", "seconds", "passengers", "company"} <= skew
    drift = summary(second.uri("example_validator"))
    assert drift["drift_compared_with"] == first.uri("statistics_gen")
    assert {"miles", "seconds"} <= {f["feature"] for f in drift["findings"] if f["check"] == "drift"}


def check(trained, serving_file: str):
    home, _ = trained
    return validate_serving(pipeline("unused.csv"), str(home / "artifacts"), serving_file, LABEL, BEAM_ARGS)


def training_sample(trained, rows: int = 300) -> list[dict]:
    """A random sample of the last span's training file itself."""
    return random.Random(0).sample(trips(1500, 2), rows)


def test_a_sample_of_the_training_file_with_a_header_in_another_order_passes(trained, tmp_path):
    shuffled = [LABEL, "company", "seconds", "passengers", "miles", "note"]  # the label and a note are not features
    rows = [{**row, "note": "x"} for row in training_sample(trained)]
    outcomes = check(trained, write_csv(tmp_path / "serving.csv", rows, shuffled))
    assert read_artifact(outcomes[0].uri).properties["rows"] == {"read": 300, "written": 300, "rejected": 0}
    found = summary(outcomes[-1].uri)
    assert found["blocking"] == 0
    extra = {f["feature"]: f for f in found["findings"] if f["kind"] == "extra column"}
    assert set(extra) == {LABEL, "note"} and not any(f["blocking"] for f in extra.values())
    assert {"miles", "seconds"} <= {f["feature"] for f in found["findings"] if f["check"] == "skew"}


def test_a_missing_column_is_an_anomaly_naming_the_feature(trained, tmp_path):
    serving = write_csv(tmp_path / "serving.csv", training_sample(trained), ["miles", "company", "passengers"])
    with pytest.raises(GateClosed, match="feature 'seconds'") as raised:
        check(trained, serving)
    assert "expected" not in str(raised.value)  # no row was rejected for its field count
    sealed = max((trained[0] / "artifacts" / "trips.serving").glob("*/serving_validator"))
    (finding,) = [f for f in summary(str(sealed))["findings"] if f["blocking"]]
    assert finding["feature"] == "seconds" and "dropped" in finding["kind"].lower()


def test_json_rows_are_read_like_a_header_csv(trained, tmp_path):
    rows = training_sample(trained)
    serving = tmp_path / "serving.jsonl"
    serving.write_text("\n".join(json.dumps({**row, "request_id": i}) for i, row in enumerate(rows)) + "\n")
    outcomes = check(trained, str(serving))
    found = summary(outcomes[-1].uri)
    assert found["blocking"] == 0 and read_artifact(outcomes[0].uri).properties["rows"]["written"] == 300
    assert {f["feature"] for f in found["findings"] if f["kind"] == "extra column"} == {LABEL, "request_id"}

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"miles": 1.0}, {"miles": "far"}]))
    with pytest.raises(Exception, match=r"wrong.json, row 2, column 'miles': 'far' is not a finite number"):
        check(trained, str(wrong))
