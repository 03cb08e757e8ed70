"""The census pipeline reads spans: a pattern of days becomes ExampleGen sources, one per span, numbered."""

from pipelines.census.pipeline import CensusConfig, create_pipeline
from sluice.config import apply_overrides


def sources(tmp_path, *overrides):
    config = apply_overrides(CensusConfig(home=str(tmp_path)), [f"data.train_file={tmp_path}/{{YYYY}}-{{MM}}-{{DD}}/*.csv", *overrides])
    return create_pipeline(config).component("example_gen").params["sources"]


def test_a_date_picks_that_days_files_for_train_and_eval(tmp_path):
    train, test = sources(tmp_path, "spans.date=2026-01-02")
    assert train == {"pattern": f"{tmp_path}/2026-01-02/*.csv", "splits": {"train": 90, "eval": 10}, "span": 20455}
    assert "span" not in test  # the fixed test file is no span


def test_a_data_interval_with_a_rolling_window_reads_the_days_before_that_exist(tmp_path):
    for day in ("2026-01-01", "2026-01-03"):
        (tmp_path / day).mkdir()
        (tmp_path / day / "rows.csv").write_text("x\n")
    found = sources(
        tmp_path, "data.rolling_spans=3",
        "spans.interval_start=2026-01-03T00:00:00+00:00", "spans.interval_end=2026-01-04T00:00:00+00:00",
    )
    assert [s.get("span") for s in found] == [20454, 20456, None]  # 2026-01-02 has no file
