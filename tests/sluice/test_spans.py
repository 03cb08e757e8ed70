"""Span patterns resolve to the files of the chosen spans: by date, span number, data interval, latest, rolling window."""

import datetime as dt

import pytest

from sluice.spans import SpanError, SpanSelection, day_span, interval_spans, resolve, span_pattern, spans_on_disk


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n")
    return str(path)


@pytest.fixture
def daily(tmp_path):
    """Three daily spans (2026-01-01..03), two shard files on the 2nd."""
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        touch(tmp_path / day / "part-0.csv")
    touch(tmp_path / "2026-01-02" / "part-1.csv")
    touch(tmp_path / "notes" / "part-0.csv")  # not a day: ignored
    return str(tmp_path / "{YYYY}-{MM}-{DD}" / "*.csv")


def test_a_day_is_its_count_of_days_since_the_epoch_as_in_tfx():
    assert day_span(dt.date(1970, 1, 1)) == 0
    assert day_span(dt.date(2026, 1, 2)) == 20455


def test_spans_on_disk_groups_files_by_day(daily, tmp_path):
    found = spans_on_disk(daily)
    assert sorted(found) == [20454, 20455, 20456]
    assert found[20455] == [str(tmp_path / "2026-01-02" / "part-0.csv"), str(tmp_path / "2026-01-02" / "part-1.csv")]


def test_a_date_resolves_to_the_glob_of_that_day(daily, tmp_path):
    [resolved] = resolve(daily, SpanSelection(date="2026-01-02"))
    assert resolved.span == 20455 and resolved.pattern == str(tmp_path / "2026-01-02" / "*.csv")


def test_no_selection_takes_the_latest_span(daily):
    assert [r.span for r in resolve(daily, SpanSelection())] == [20456]


def test_a_daily_data_interval_is_one_span_and_a_longer_one_all_its_days(daily):
    one_day = SpanSelection(interval_start="2026-01-02T00:00:00Z", interval_end="2026-01-03T00:00:00Z")
    assert [r.span for r in resolve(daily, one_day)] == [20455]
    two_days = SpanSelection(interval_start="2026-01-01T00:00:00Z", interval_end="2026-01-03T00:00:00Z")
    assert [r.span for r in resolve(daily, two_days)] == [20454, 20455]
    hour = dt.datetime(2026, 1, 2, 5, tzinfo=dt.timezone.utc)
    assert interval_spans(hour, hour + dt.timedelta(hours=1)) == [20455]


def test_a_rolling_window_adds_the_spans_before_the_chosen_one(daily):
    assert [r.span for r in resolve(daily, SpanSelection(), window=2)] == [20455, 20456]
    assert [r.span for r in resolve(daily, SpanSelection(date="2026-01-02"), window=5)] == [20454, 20455]


def test_a_span_asked_for_is_taken_without_looking_at_the_disk(daily, tmp_path):
    # ExampleGen names it when it has no file; a DAG file parses where there is no data.
    def no_disk(pattern):
        raise AssertionError("looked at the disk")

    [resolved] = resolve(daily, SpanSelection(date="2026-01-05"), lister=no_disk)
    assert resolved.pattern == str(tmp_path / "2026-01-05" / "*.csv")


def test_the_latest_span_of_an_empty_input_is_an_error_naming_it(daily):
    with pytest.raises(SpanError, match=r"no span of .*\*\.tsv"):
        resolve(daily.replace("*.csv", "*.tsv"), SpanSelection())


def test_span_numbers_with_a_width(tmp_path):
    for span in (1, 2, 10):
        touch(tmp_path / f"span-{span:03d}" / "data.csv")
    pattern = str(tmp_path / "span-{SPAN:3}" / "data.csv")
    assert sorted(spans_on_disk(pattern)) == [1, 2, 10]
    assert span_pattern(pattern, 2) == str(tmp_path / "span-002" / "data.csv")
    assert [r.span for r in resolve(pattern, SpanSelection())] == [10]
    assert [r.span for r in resolve(pattern, SpanSelection(span=2), window=3)] == [1, 2]


def test_a_pattern_without_placeholders_is_one_input_whatever_the_selection(tmp_path):
    assert [(r.span, r.pattern) for r in resolve("/data/adult.data", SpanSelection(date="2026-01-01"))] == [(None, "/data/adult.data")]


def test_bad_patterns_and_selections_are_refused():
    with pytest.raises(SpanError, match="not both"):
        span_pattern("/d/{SPAN}/{YYYY}-{MM}-{DD}", 1)
    with pytest.raises(SpanError, match="all of"):
        span_pattern("/d/{YYYY}-{MM}", 1)
    with pytest.raises(ValueError, match="one of"):
        SpanSelection(date="2026-01-01", span=3)
    with pytest.raises(ValueError, match="both"):
        SpanSelection(interval_start="2026-01-01T00:00:00Z")
