"""Spans: input patterns with placeholders, resolved to the files of chosen spans.

A pipeline input may be a glob with TFX's placeholders (ExampleGen's span and date specs):

- `{SPAN}` (or `{SPAN:5}`, zero-padded to 5 digits): a span number, e.g.
  `data/span-{SPAN}/*.csv`;
- `{YYYY}`, `{MM}`, `{DD}`: a day, e.g. `data/{YYYY}-{MM}-{DD}/*.csv`. As in TFX, a day's
  span number is its count of days since 1970-01-01, and a pattern uses either `{SPAN}`
  or the date placeholders, not both.

Which spans a run reads (a `SpanSelection`):

- a data interval [start, end) (an Airflow run's): the spans of the days it covers
  (`{SPAN}` patterns number their spans by day too, as dates do);
- one day (`--date`) or one span number (`--span`);
- otherwise the latest span on disk.

With `window=K` a run reads the K consecutive span numbers that end with the chosen one
(the chosen one, and those before it that are on disk): TFX's rolling range.

Pure: no Beam, no Airflow. Disk is looked at only to find which spans exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob as globbing
import re
from typing import Callable, Iterable

import pydantic

from sluice.errors import SluiceError

EPOCH = dt.date(1970, 1, 1)
_SPAN = re.compile(r"\{SPAN(?::(\d+))?\}")
_DATE = re.compile(r"\{(YYYY|MM|DD)\}")
_DATE_WIDTH = {"YYYY": 4, "MM": 2, "DD": 2}


class SpanError(SluiceError):
    """A pattern or a span selection that names no data."""


class SpanSelection(pydantic.BaseModel):
    """Which spans a run reads; every field unset means the latest span on disk.

    Args:
        date: one day, YYYY-MM-DD.
        span: one span number.
        interval_start: start of the run's data interval (ISO 8601), included.
        interval_end: its end, excluded.
    """

    model_config = pydantic.ConfigDict(extra="forbid")

    date: dt.date | None = None
    span: int | None = pydantic.Field(None, ge=0)
    interval_start: dt.datetime | None = None
    interval_end: dt.datetime | None = None

    @pydantic.model_validator(mode="after")
    def _one_way(self) -> "SpanSelection":
        chosen = [self.date is not None, self.span is not None, self.interval_start is not None]
        if sum(chosen) > 1:
            raise ValueError("choose spans by one of date, span or data interval")
        if (self.interval_start is None) != (self.interval_end is None):
            raise ValueError("a data interval needs both interval_start and interval_end")
        if self.interval_start is not None and self.interval_end < self.interval_start:
            raise ValueError(f"data interval ends ({self.interval_end}) before it starts ({self.interval_start})")
        return self

    def describe(self) -> str:
        if self.date is not None:
            return f"date {self.date}"
        if self.span is not None:
            return f"span {self.span}"
        if self.interval_start is not None:
            return f"data interval [{self.interval_start.isoformat()}, {self.interval_end.isoformat()})"
        return "the latest span"


@dataclasses.dataclass(frozen=True)
class ResolvedSpan:
    """One span of an input: its number (None for a pattern without placeholders) and the glob of its files."""

    span: int | None
    pattern: str


def has_placeholders(pattern: str) -> bool:
    return bool(_SPAN.search(pattern) or _DATE.search(pattern))


def _check(pattern: str) -> None:
    if _SPAN.search(pattern) and _DATE.search(pattern):
        raise SpanError(f"{pattern}: use {{SPAN}} or {{YYYY}}/{{MM}}/{{DD}}, not both")
    dates = set(_DATE.findall(pattern))
    if dates and dates != {"YYYY", "MM", "DD"}:
        raise SpanError(f"{pattern}: a date pattern needs all of {{YYYY}}, {{MM}} and {{DD}}")


def day_span(day: dt.date) -> int:
    """TFX's span number of a day: days since 1970-01-01."""
    return (day - EPOCH).days


def span_day(span: int) -> dt.date:
    return EPOCH + dt.timedelta(days=span)


def span_pattern(pattern: str, span: int) -> str:
    """The glob of one span's files: the placeholders filled in."""
    _check(pattern)

    def span_text(match: re.Match) -> str:
        return str(span).zfill(int(match.group(1) or 0))

    day = span_day(span)
    parts = {"YYYY": f"{day.year:04d}", "MM": f"{day.month:02d}", "DD": f"{day.day:02d}"}
    return _DATE.sub(lambda m: parts[m.group(1)], _SPAN.sub(span_text, pattern))


def _span_regex(pattern: str) -> re.Pattern:
    """Matches a path of `pattern` and captures its span (or its date parts)."""
    out, position = [], 0
    for match in re.finditer(f"{_SPAN.pattern}|{_DATE.pattern}", pattern):
        out.append(_glob_regex(pattern[position:match.start()]))
        if match.group(0).startswith("{SPAN"):
            width = match.group(1)
            out.append(rf"(?P<span>\d{{{width}}})" if width else r"(?P<span>\d+)")
        else:
            name = match.group(2)
            out.append(rf"(?P<{name}>\d{{{_DATE_WIDTH[name]}}})")
        position = match.end()
    out.append(_glob_regex(pattern[position:]))
    return re.compile("".join(out) + r"\Z")


def _glob_regex(text: str) -> str:
    return "".join({"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c)) for c in text)


def _as_glob(pattern: str) -> str:
    return _DATE.sub("*", _SPAN.sub("*", pattern))


def spans_on_disk(pattern: str, lister: Callable[[str], Iterable[str]] = globbing.glob) -> dict[int, list[str]]:
    """Span number -> its files, for every span of `pattern` found by `lister` (a glob)."""
    _check(pattern)
    regex = _span_regex(pattern)
    found: dict[int, list[str]] = {}
    for path in sorted(lister(_as_glob(pattern))):
        match = regex.match(path)
        if match is None:
            continue
        if "span" in match.groupdict():
            span = int(match.group("span"))
        else:
            try:
                span = day_span(dt.date(int(match.group("YYYY")), int(match.group("MM")), int(match.group("DD"))))
            except ValueError:  # 2026-13-45: not a day
                continue
        found.setdefault(span, []).append(path)
    return found


def interval_spans(start: dt.datetime, end: dt.datetime) -> list[int]:
    """The spans (days) a data interval [start, end) covers; an empty interval covers its day."""
    first = day_span(start.date())
    last = day_span((end - dt.timedelta(microseconds=1)).date()) if end > start else first
    return list(range(first, last + 1))


def chosen_spans(pattern: str, selection: SpanSelection, window: int = 1, lister=globbing.glob) -> list[int]:
    """The span numbers `selection` asks for, plus those of the window before them that are on disk.

    Only the latest span and the window's earlier spans are looked up on disk: a span asked
    for by number, date or interval is taken as it is (ExampleGen fails, naming it, when
    it has no file), so a DAG file can be parsed where there is no data.

    Raises:
        SpanError: the latest span is asked for and there is none.
    """
    if window < 1:
        raise SpanError(f"a window of spans holds at least one span, not {window}")
    if selection.date is not None:
        wanted = [day_span(selection.date)]
    elif selection.span is not None:
        wanted = [selection.span]
    elif selection.interval_start is not None:
        wanted = interval_spans(selection.interval_start, selection.interval_end)
    else:
        on_disk = spans_on_disk(pattern, lister)
        if not on_disk:
            raise SpanError(f"no span of {pattern} on disk")
        wanted = [max(on_disk)]
    if window == 1:
        return wanted
    on_disk = spans_on_disk(pattern, lister)
    earlier = range(min(wanted) - window + 1, min(wanted))
    return sorted({*wanted, *(span for span in earlier if span in on_disk)})


def resolve(pattern: str, selection: SpanSelection, window: int = 1, lister=globbing.glob) -> list[ResolvedSpan]:
    """The spans of `pattern` a run reads, each with the glob of its files.

    A pattern without placeholders is one span-less input, whatever the selection.
    """
    if not has_placeholders(pattern):
        return [ResolvedSpan(None, pattern)]
    return [ResolvedSpan(span, span_pattern(pattern, span)) for span in chosen_spans(pattern, selection, window, lister)]


def example_sources(
    pattern: str, splits: dict[str, int], selection: SpanSelection, window: int = 1, lister=globbing.glob
) -> list[dict]:
    """ExampleGen `sources` for one input: one source per span, with its number recorded."""
    return [
        {"pattern": r.pattern, "splits": dict(splits), **({"span": r.span} if r.span is not None else {})}
        for r in resolve(pattern, selection, window, lister)
    ]
