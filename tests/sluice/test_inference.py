"""`sluice init`'s choices from a file's statistics, and its refusals."""

import pandas as pd
import pytest

from sluice.inference import InferenceError, choose_columns, choose_label, read_table
from sluice.scaffold import init_pipeline
from tests.sluice.generated_table import write_trips


@pytest.fixture
def trips(tmp_path):
    return write_trips(tmp_path / "trips.csv")


def test_each_column_gets_the_kind_its_values_call_for(trips):
    table = read_table(trips)
    kinds = {c.name: c.kind for c in choose_columns(table, "tipped")}
    assert kinds == {
        "trip_id": "skip", "start_time": "timestamp", "area_code": "integer_category", "miles": "log_numeric",
        "fare": "log_numeric", "company": "category", "payment": "category",
    }
    assert table.missing_values == ("", "NA")
    label = choose_label(table, "tipped")
    assert (label.task, label.csv_type, label.positive) == ("binary", "int", 1)


def test_delimiter_text_hashing_and_tasks_are_inferred(tmp_path):
    rows = 1500
    frame = pd.DataFrame({
        "note": [f"a long free note number {i} about item {i % 7}" for i in range(rows)],
        "user": [f"user{i % 1200}" for i in range(rows)],
        "price": [float(i % 97) + 0.5 for i in range(rows)],
        "grade": [["a", "b", "c"][i % 3] for i in range(rows)],
    })
    path = tmp_path / "t.csv"
    frame.to_csv(path, sep=";", index=False)
    table = read_table(path)
    assert table.delimiter == ";"
    kinds = {c.name: c.kind for c in choose_columns(table, "grade")}
    assert kinds == {"note": "text", "user": "hashed", "price": "numeric"}
    assert choose_label(table, "grade").task == "multiclass"
    assert choose_label(table, "price").task == "regression"
    frame.to_parquet(tmp_path / "t.parquet")
    assert read_table(tmp_path / "t.parquet").parquet


def test_refusals_say_what_is_wrong(tmp_path, trips):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InferenceError, match="empty"):
        read_table(tmp_path / "empty.csv")
    with pytest.raises(InferenceError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    (tmp_path / "header_only.csv").write_text("a,b\n")
    with pytest.raises(InferenceError, match="no data rows"):
        read_table(tmp_path / "header_only.csv")
    table = read_table(trips)
    with pytest.raises(InferenceError, match="no label column 'tip'"):
        choose_label(table, "tip")
    (tmp_path / "constant.csv").write_text("x,y\n1,yes\n2,yes\n3,yes\n")
    with pytest.raises(InferenceError, match="constant"):
        choose_label(read_table(tmp_path / "constant.csv"), "y")
    with pytest.raises(InferenceError, match="binary needs exactly 2"):
        choose_label(table, "area_code", "binary")
    with pytest.raises(InferenceError, match="not numeric"):
        choose_label(table, "payment", "regression")


def test_init_writes_a_pipeline_the_registry_loads(tmp_path, trips, monkeypatch):
    from sluice.registry import PIPELINES_ENV, pipeline_module

    done = init_pipeline("trips", str(trips), "tipped", directory=str(tmp_path / "pipes"))
    assert sorted(p.name for p in done.directory.iterdir()) == [
        "__init__.py", "dag.py", "model.py", "pipeline.py", "preprocessing.py", "schema.draft.pbtxt"
    ]
    monkeypatch.setenv(PIPELINES_ENV, str(tmp_path / "pipes"))
    import sluice.user_pipelines

    monkeypatch.setattr(sluice.user_pipelines, "__path__", [str(tmp_path / "pipes")])
    module = pipeline_module("trips")
    config = module.Config(home=str(tmp_path / "home"))
    assert config.validation.warn_only == ["area_code", "miles", "payment"]
    assert module.CSV_FORMAT["missing_values"] == ["", "NA"] and "trip_id" not in dict(module.CSV_FORMAT["columns"])
    with pytest.raises(Exception, match="exists"):
        init_pipeline("trips", str(trips), "tipped", directory=str(tmp_path / "pipes"))
