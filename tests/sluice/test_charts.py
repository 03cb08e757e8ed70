"""The reports' SVG charts: well-formed, drawn to scale, and escaping every label."""

import re
import xml.etree.ElementTree as ElementTree

from sluice import charts

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> list[ElementTree.Element]:
    return [rect for rect in ElementTree.fromstring(svg).iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]


def test_grouped_bars_are_drawn_to_scale_one_group_per_category():
    svg = charts.grouped_bars("sex", ["Male", "Female"], {"train": [0.6, 0.3], "serving": [0.2, 0.4]}, "share")
    bars = _bars(svg)
    heights = [float(bar.get("height")) for bar in bars]
    assert len(bars) == 4
    assert abs(heights[0] / heights[1] - 2.0) < 1e-3 and abs(heights[3] / heights[2] - 2.0) < 1e-3
    xs = [float(bar.get("x")) for bar in bars]
    assert xs[0] < xs[2] < xs[1] < xs[3]  # train then serving within each category
    assert [bar.find(f"{SVG}title").text for bar in bars] == ["0.6", "0.3", "0.2", "0.4"]


def test_labels_are_escaped():
    hostile = '<script>alert("x")</script> & co'
    svg = charts.grouped_bars(hostile, [hostile], {hostile: [1.0]}, hostile)
    ElementTree.fromstring(svg)  # still well-formed
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_histograms_place_buckets_on_one_numeric_axis():
    svg = charts.histograms("age", {"train": [(0, 10, 0.5), (10, 30, 0.5)], "eval": [(0, 30, 1.0)]}, "share of rows")
    train_first, train_second, eval_only = _bars(svg)
    width = lambda bar: float(bar.get("width"))  # noqa: E731
    assert abs(width(train_second) / width(train_first) - 2.0) < 1e-3
    assert abs(width(eval_only) - width(train_first) - width(train_second)) < 0.2
    assert float(train_first.get("x")) == float(eval_only.get("x"))
    assert "30" in re.findall(r">([^<]+)</text>", svg)  # the axis ends at the last edge


def test_lines_join_every_point_and_draw_the_diagonal():
    svg = charts.lines("reliability", {"candidate": [(0.1, 0.05), (0.5, 0.55), (0.9, 0.85)]}, "p", "rate", diagonal=True)
    root = ElementTree.fromstring(svg)
    (polyline,) = root.iter(f"{SVG}polyline")
    assert len(polyline.get("points").split()) == 3 and len(list(root.iter(f"{SVG}circle"))) == 3
    assert any(line.get("stroke-dasharray") for line in root.iter(f"{SVG}line"))
