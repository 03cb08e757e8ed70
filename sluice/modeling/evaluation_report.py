"""The evaluation report: one static HTML page (plots inline as PNG) a person reads without a notebook.

It shows the blessing decision and its checks, the candidate's and the served model's
metrics side by side, their reliability diagrams, and every slice with its row count.
It is rendered from the same document as `metrics.json` (`components.evaluator`).
"""

from __future__ import annotations

import base64
import io
from typing import Any, Mapping

import jinja2

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
<img alt="reliability diagram" src="data:image/png;base64,{{ reliability }}">{% endif %}
<h2>Slices</h2>
<p>Slices with fewer than {{ min_slice_rows }} rows are shown in grey and not judged by the blessing.</p>
{% for feature, slices in doc.slices.items() %}
<h3>{{ feature }}</h3>
<img alt="{{ objective }} per slice of {{ feature }}" src="data:image/png;base64,{{ slice_plots[feature] }}">
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


def _png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _reliability_plot(curves: Mapping[str, list[dict]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], color="#999", linestyle="--", label="perfectly calibrated")
    for label, bins in curves.items():
        points = [(b["mean_probability"], b["positive_rate"]) for b in bins if b["count"]]
        axes.plot([p for p, _ in points], [r for _, r in points], marker="o", label=label)
    axes.set_xlabel("mean predicted P(positive)")
    axes.set_ylabel("observed positive rate")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.legend(loc="upper left")
    figure.tight_layout()
    return _png(figure)


def _slice_plot(feature: str, objective: str, slices: Mapping[str, dict], served: Mapping[str, dict] | None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(slices)
    figure, axes = plt.subplots(figsize=(max(5, 0.6 * len(names) + 2), 3))
    width = 0.4 if served else 0.8
    positions = range(len(names))
    axes.bar([p - (width / 2 if served else 0) for p in positions], [slices[n].get(objective) or 0 for n in names], width, label="candidate")
    if served:
        axes.bar([p + width / 2 for p in positions], [(served.get(n) or {}).get(objective) or 0 for n in names], width, label="served")
    axes.set_xticks(list(positions), names, rotation=45, ha="right", fontsize=8)
    axes.set_ylabel(objective)
    axes.set_title(f"{objective} by {feature}")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return _png(figure)


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
