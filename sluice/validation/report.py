"""The validation report: one static HTML page a person can read without a notebook.

A table of every finding (blocking first), then, per feature that was compared or has a
problem, its distributions side by side: histograms for numbers, top values for
categories.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import jinja2

from sluice import charts
from sluice.validation.findings import Finding, feature_distribution

_TEMPLATE = jinja2.Template(
    """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 72em; }
table { border-collapse: collapse; margin-bottom: 2em; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
.blocking { background: #fdd; } .warning { background: #ffd; } .passed { color: #555; }
.feature { margin-bottom: 2em; }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ verdict }}</p>
{% if rows %}<h2>Rows</h2>
<p>read {{ rows.read }}, written {{ rows.written }}, rejected {{ rows.rejected }}{% if rows.rejected %} (listed in {{ rejects_file }}){% endif %}</p>
{% if rejects %}<table><tr><th>file</th><th>row</th><th>column</th><th>reason</th></tr>
{% for r in rejects %}<tr><td>{{ r.file }}</td><td>{{ r.row }}</td><td>{{ r.column or "" }}</td><td>{{ r.reason }}</td></tr>{% endfor %}
</table>{% endif %}{% endif %}
<h2>Findings</h2>
{% if findings %}
<table><tr><th>status</th><th>check</th><th>split</th><th>feature</th><th>what</th><th>measure</th><th>value</th><th>threshold</th><th>compared with</th></tr>
{% for f in findings %}
<tr class="{{ status(f) }}"><td>{{ status(f) }}</td><td>{{ f.check }}</td><td>{{ f.split }}</td><td>{{ f.feature or "(dataset)" }}</td>
<td>{{ f.kind }}: {{ f.description }}</td><td>{{ f.measure or "" }}</td>
<td>{{ "%.4f"|format(f.value) if f.value is not none else "" }}</td>
<td>{{ "%g"|format(f.threshold) if f.threshold is not none else "" }}</td><td>{{ f.compared_with or "" }}</td></tr>
{% endfor %}</table>
{% else %}<p>No findings.</p>{% endif %}
<h2>Distributions</h2>
{% for feature, plot in plots %}
<div class="feature"><h3>{{ feature }}</h3>{{ plot }}</div>
{% endfor %}
</body></html>
"""
)


def _status(finding: Finding) -> str:
    if finding.blocking:
        return "blocking"
    return "passed" if finding.kind == "within threshold" else "warning"


def _plot(feature: str, distributions: Mapping[str, dict]) -> str:
    """An SVG of the labelled distributions of `feature`: histograms for numbers (shares of
    rows per bucket), else the first 20 values' shares side by side."""
    if {d["kind"] for d in distributions.values()} == {"histogram"}:
        shares = {}
        for label, distribution in distributions.items():
            total = sum(b[2] for b in distribution["buckets"]) or 1
            shares[label] = [(b[0], b[1], b[2] / total) for b in distribution["buckets"]]
        return charts.histograms(feature, shares, "share of rows")
    values: list[str] = []
    for distribution in distributions.values():
        for value, _ in distribution.get("values", []):
            if value not in values:
                values.append(value)
    values = values[:20]
    series = {label: [dict(d.get("values", [])).get(v, 0.0) for v in values] for label, d in distributions.items()}
    return charts.grouped_bars(feature, values, series, "share of present values")


def feature_distributions(statistics_by_label: Mapping[str, object], feature: str) -> dict[str, dict]:
    """Label (e.g. "train", "serving") -> the feature's distribution in those statistics."""
    found = {label: feature_distribution(stats, feature) for label, stats in statistics_by_label.items()}
    return {label: d for label, d in found.items() if d is not None}


def write_report(
    path: str,
    title: str,
    findings: Sequence[Finding],
    statistics_by_label: Mapping[str, object],
    rows: Mapping[str, int] | None = None,
    rejects: Sequence[Mapping] = (),
    rejects_file: str = "",
) -> None:
    """Writes the HTML report of `findings`, with plots from the labelled statistics, and
    the row accounting of the examples (read, written, rejected, the first rejected rows)."""
    ordered = sorted(findings, key=lambda f: ({"blocking": 0, "warning": 1, "passed": 2}[_status(f)], f.check, f.split, f.feature))
    blocking = sum(f.blocking for f in findings)
    verdict = f"{blocking} blocking finding(s): the pipeline stops." if blocking else "No blocking finding: the pipeline goes on."
    features = sorted({f.feature for f in findings if f.feature})
    plots = []
    for feature in features:
        distributions = feature_distributions(statistics_by_label, feature)
        if distributions:
            plots.append((feature, _plot(feature, distributions)))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(
            _TEMPLATE.render(
                title=title, verdict=verdict, findings=ordered, plots=plots, status=_status,
                rows=rows, rejects=list(rejects), rejects_file=rejects_file,
            )
        )
