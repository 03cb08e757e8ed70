"""Inline SVG charts for the HTML reports: bars side by side, histograms and lines.

Drawn as SVG text, without a plotting library: a report with a chart per feature renders
in milliseconds and reads in any browser. Every value shown as text is escaped.
"""

from __future__ import annotations

import dataclasses
from html import escape
from typing import Mapping, Sequence

COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2")
_LEFT, _RIGHT, _TOP, _FONT = 56, 12, 28, 11


@dataclasses.dataclass(frozen=True)
class _Plot:
    """The plotting area of a chart `width` x `height`, with `bottom` pixels for x labels."""

    width: int
    height: int
    bottom: int
    x_range: tuple[float, float] = (0.0, 1.0)
    y_range: tuple[float, float] = (0.0, 1.0)

    def x(self, value: float) -> float:
        low, high = self.x_range
        return _LEFT + (value - low) / ((high - low) or 1.0) * (self.width - _LEFT - _RIGHT)

    def y(self, value: float) -> float:
        low, high = self.y_range
        return self.height - self.bottom - (value - low) / ((high - low) or 1.0) * (self.height - self.bottom - _TOP)


def _number(value: float) -> str:
    return f"{value:.4g}"


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{_FONT}"{extra}>{escape(text)}</text>'


def _frame(plot: _Plot, title: str, ylabel: str, series: Sequence[str]) -> list[str]:
    """Title, y axis with five ticks, x axis line, and the legend of `series` (top right)."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{plot.width}" height="{plot.height}" role="img">']
    parts.append(f"<title>{escape(title)}</title>")
    parts.append(_text(plot.width / 2, 16, title, extra=' font-weight="bold"'))
    low, high = plot.y_range
    for step in range(5):
        value = low + (high - low) * step / 4
        y = plot.y(value)
        parts.append(f'<line x1="{_LEFT}" x2="{plot.width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(_text(_LEFT - 4, y + 4, _number(value), anchor="end"))
    parts.append(_text(12, (plot.height - plot.bottom + _TOP) / 2, ylabel, extra=f' transform="rotate(-90 12 {(plot.height - plot.bottom + _TOP) / 2:.1f})"'))
    base = plot.height - plot.bottom
    parts.append(f'<line x1="{_LEFT}" x2="{plot.width - _RIGHT}" y1="{base}" y2="{base}" stroke="#333"/>')
    for index, label in enumerate(series):
        y = _TOP + 4 + 14 * index
        x = plot.width - _RIGHT - 150
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{COLORS[index % len(COLORS)]}" fill-opacity="0.8"/>')
        parts.append(_text(x + 14, y, label, anchor="start"))
    return parts


def _top(values: Sequence[float]) -> float:
    return max([v for v in values if v is not None] + [0.0]) * 1.1 or 1.0


def grouped_bars(title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], ylabel: str) -> str:
    """One group of bars per category, one bar per series, side by side."""
    width = max(420, 40 * len(categories) * max(len(series), 1) // 2 + _LEFT + _RIGHT + 40)
    bottom = 20 + 6 * min(max((len(c) for c in categories), default=0), 24)
    plot = _Plot(width, 260 + bottom, bottom, (0.0, float(max(len(categories), 1))), (0.0, _top([v for s in series.values() for v in s])))
    parts = _frame(plot, title, ylabel, list(series))
    bar = 0.8 / max(len(series), 1)
    for index, values in enumerate(series.values()):
        for position, value in enumerate(values):
            x, y = plot.x(position + 0.1 + index * bar), plot.y(value or 0.0)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{plot.x(bar) - plot.x(0):.1f}" height="{plot.y(0) - y:.1f}" '
                f'fill="{COLORS[index % len(COLORS)]}"><title>{escape(_number(value or 0.0))}</title></rect>'
            )
    for position, category in enumerate(categories):
        x, y = plot.x(position + 0.5), plot.height - bottom + 12
        label = category if len(category) <= 24 else category[:23] + "…"
        parts.append(_text(x, y, label, anchor="end", extra=f' transform="rotate(-45 {x:.1f} {y:.1f})"'))
    return "".join(parts + ["</svg>"])


def histograms(title: str, series: Mapping[str, Sequence[tuple[float, float, float]]], ylabel: str) -> str:
    """Each series' buckets (low, high, height) as translucent bars over one numeric x axis."""
    edges = [edge for buckets in series.values() for low, high, _ in buckets for edge in (low, high)]
    x_range = (min(edges), max(edges)) if edges else (0.0, 1.0)
    plot = _Plot(640, 280, 36, x_range, (0.0, _top([h for buckets in series.values() for _, _, h in buckets])))
    parts = _frame(plot, title, ylabel, list(series))
    for index, buckets in enumerate(series.values()):
        for low, high, height in buckets:
            x, y = plot.x(low), plot.y(height)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(plot.x(high) - x, 1.0):.1f}" height="{plot.y(0) - y:.1f}" '
                f'fill="{COLORS[index % len(COLORS)]}" fill-opacity="0.5"><title>{escape(f"{_number(low)} to {_number(high)}: {_number(height)}")}</title></rect>'
            )
    for step in range(5):
        value = x_range[0] + (x_range[1] - x_range[0]) * step / 4
        parts.append(_text(plot.x(value), plot.height - plot.bottom + 14, _number(value)))
    return "".join(parts + ["</svg>"])


def lines(title: str, series: Mapping[str, Sequence[tuple[float, float]]], xlabel: str, ylabel: str, diagonal: bool = False) -> str:
    """Each series' (x, y) points joined, with a marker at each, on axes from 0 to 1."""
    plot = _Plot(420, 420, 44)
    parts = _frame(plot, title, ylabel, list(series))
    if diagonal:
        parts.append(f'<line x1="{plot.x(0)}" y1="{plot.y(0)}" x2="{plot.x(1):.1f}" y2="{plot.y(1):.1f}" stroke="#999" stroke-dasharray="4 3"/>')
    for index, points in enumerate(series.values()):
        color = COLORS[index % len(COLORS)]
        path = " ".join(f"{plot.x(x):.1f},{plot.y(y):.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [f'<circle cx="{plot.x(x):.1f}" cy="{plot.y(y):.1f}" r="3" fill="{color}"/>' for x, y in points]
    for step in range(5):
        parts.append(_text(plot.x(step / 4), plot.height - plot.bottom + 14, _number(step / 4)))
    parts.append(_text(plot.width / 2, plot.height - 8, xlabel))
    return "".join(parts + ["</svg>"])
