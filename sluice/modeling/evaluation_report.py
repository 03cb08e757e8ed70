"""The evaluation report: one static HTML page (charts inline as SVG) a person reads without a notebook.

It shows the blessing decision and its checks, the candidate's and the served model's
metrics side by side, their reliability diagrams, and every slice with its row count.
It is rendered from the same document as `metrics.json` (`components.evaluator`).
"""

from __future__ import annotations

from typing import Any, Mapping

import jinja2

from sluice import charts

SHOWN_METRICS = (
    "accuracy", "auc", "log_loss", "precision", "recall", "expected_calibration_error", "positive_rate",
    "macro_f1", "macro_precision", "macro_recall", "rmse", "mae", "r2", "label_mean",
)  # fmt: skip

_TEMPLATE = jinja2.Template(
    """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 80em; }
table { border-collapse: collapse; margin-bottom: 2em; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.failed { background: #fdd; } .passed { color: #333; } .small { color: #888; }
.verdict { font-size: 1.2em; padding: 0.5em; } .blessed { background: #dfd; } .refused { background: #fdd; }
</style></head><body>
<h1>{{ title }}</h1>
<p class="verdict {{ 'blessed' if blessing.blessed else 'refused' }}">{{ blessing.reason }}</p>
<p>Rows: {{ doc.split }} split as ExampleGen wrote it ({{ doc.overall.examples }} rows), scored through each model's
<code>serving_default</code> signature. Model kept: {{ doc.model }} (chosen by {{ doc.chosen_by }}).
{% if served %}Compared with served version {{ served.version }}.{% else %}No served version: a first push is judged by the floor only.{% endif %}</p>
<h2>Checks</h2>
<table><tr><th>check</th><th>result</th><th>detail</th></tr>
{% for c in blessing.checks %}<tr class="{{ 'passed' if c.passed else 'failed' }}"><td>{{ c.check }}</td><td>{{ 'passed' if c.passed else 'FAILED' }}</td><td>{{ c.detail }}</td></tr>{% endfor %}
</table>
<h2>Metrics</h2>
<table><tr><th>metric</th><th>candidate</th>{% if served %}<th>served (version {{ served.version }})</th><th>difference</th>{% endif %}</tr>
{% for m in metrics %}<tr><td>{{ m }}</td><td class="n">{{ fmt(doc.overall[m]) }}</td>
{% if served %}<td class="n">{{ fmt(served.overall[m]) }}</td><td class="n">{{ diff(doc.overall[m], served.overall[m]) }}</td>{% endif %}</tr>{% endfor %}
{% if 'threshold' in doc.overall %}<tr><td>threshold</td><td class="n">{{ fmt(doc.overall.threshold) }}</td>{% if served %}<td class="n">{{ fmt(served.overall.threshold) }}</td><td></td>{% endif %}</tr>{% endif %}
</table>
{% if reliability %}<h2>Calibration</h2>
<p>Reliability diagram: rows binned by predicted P(positive); a calibrated model's points lie on the diagonal.
Expected calibration error: the rows-weighted mean distance from it.</p>
{{ reliability }}{% endif %}
<h2>Slices</h2>
<p>Slices with fewer than {{ min_slice_rows }} rows are shown in grey and not judged by the blessing.</p>
{% for feature, slices in doc.slices.items() %}
<h3>{{ feature }}</h3>
{{ slice_plots[feature] }}
<table><tr><th>slice</th><th>rows</th>{% for m in metrics %}<th>{{ m }}</th>{% endfor %}{% if served %}<th>served {{ objective }}</th>{% endif %}</tr>
{% for name, m in slices.items() %}<tr class="{{ 'small' if m.examples < min_slice_rows else '' }}"><td>{{ name }}</td><td class="n">{{ m.examples }}</td>
{% for k in metrics %}<td class="n">{{ fmt(m[k]) }}</td>{% endfor %}
{% if served %}<td class="n">{{ fmt(served.slices.get(feature, {}).get(name, {}).get(objective)) }}</td>{% endif %}</tr>{% endfor %}
</table>
{% endfor %}
{% if compact_forms %}{{ compact_forms }}{% endif %}
</body></html>
"""
)


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _diff(mine: Any, theirs: Any) -> str:
    return f"{mine - theirs:+.4f}" if isinstance(mine, (int, float)) and isinstance(theirs, (int, float)) else ""


def _reliability_plot(curves: Mapping[str, list[dict]]) -> str:
    points = {
        label: [(b["mean_probability"], b["positive_rate"]) for b in bins if b["count"]] for label, bins in curves.items()
    }
    return charts.lines("reliability", points, "mean predicted P(positive)", "observed positive rate", diagonal=True)


def _slice_plot(feature: str, objective: str, slices: Mapping[str, dict], served: Mapping[str, dict] | None) -> str:
    names = list(slices)
    series = {"candidate": [slices[n].get(objective) or 0.0 for n in names]}
    if served:
        series["served"] = [(served.get(n) or {}).get(objective) or 0.0 for n in names]
    return charts.grouped_bars(f"{objective} by {feature}", names, series, objective)


def render(
    doc: Mapping[str, Any], objective: str, min_slice_rows: int, title: str = "Model evaluation", compact_forms: str | None = None
) -> str:
    """The report's HTML for an Evaluator document (the content of metrics.json), with the
    compact export's table (an HTML section) when there is one."""
    served = doc.get("served")
    curves = {"candidate": doc["calibration"]} if doc.get("calibration") else {}  # binary tasks only
    if served and curves and served.get("calibration"):
        curves[f"served (version {served['version']})"] = served["calibration"]
    return _TEMPLATE.render(
        title=title,
        doc=doc,
        served=served,
        blessing=doc["blessing"],
        metrics=[m for m in SHOWN_METRICS if m in doc["overall"]],
        objective=objective,
        min_slice_rows=min_slice_rows,
        reliability=_reliability_plot(curves) if curves else None,
        slice_plots={
            feature: _slice_plot(feature, objective, slices, (served or {}).get("slices", {}).get(feature) if served else None)
            for feature, slices in doc["slices"].items()
        },
        compact_forms=compact_forms,
        fmt=_fmt,
        diff=_diff,
    )
