"""`sluice runs PIPELINE`: the runs of a pipeline from the store, newest first.

Each run shows its status, each component's duration (or "reused", or why it failed),
the key metric (from the Evaluator's artifact) and the pushed version (from the Pusher's).
"""

from __future__ import annotations

import time
from typing import Any, Mapping

import sqlalchemy as sa

from sluice.metadata.store import FAILED, REUSED, RUNNING, SUCCEEDED, MetadataStore, artifacts, events, executions, pipelines, runs

# The metric a run is known by, the first its evaluation records.
KEY_METRICS = ("accuracy", "auc", "log_loss")
EVALUATION_TYPE = "ModelEvaluation"
PUSH_TYPE = "PushedModel"


def run_history(store: MetadataStore, pipeline: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The runs of `pipeline`, newest first, as JSON-friendly dicts."""
    store.reap_killed()
    run_rows = store.rows(
        sa.select(runs).join(pipelines, pipelines.c.id == runs.c.pipeline_id)
        .where(pipelines.c.name == pipeline).order_by(runs.c.created.desc(), runs.c.id.desc()).limit(limit)
    )
    return [_run(store, row) for row in run_rows]


def _run(store: MetadataStore, run) -> dict[str, Any]:
    rows = store.rows(executions.select().where(executions.c.run_id == run.id).order_by(executions.c.id))
    latest: dict[str, Any] = {}
    for row in rows:  # the last attempt of each component
        latest[row.component] = row
    outputs = {
        row.execution_id: row
        for row in store.rows(
            sa.select(events.c.execution_id, artifacts.c.type, artifacts.c.properties, artifacts.c.uri)
            .join(artifacts, artifacts.c.id == events.c.artifact_id)
            .where(events.c.direction == "output", events.c.execution_id.in_([row.id for row in latest.values()]))
        )
    }
    components = [
        {
            "component": row.component,
            "status": row.status,
            "attempt": row.attempt,
            "seconds": round(row.ended - row.started, 3) if row.ended else None,
            "error": row.error,
            "artifact": outputs[row.id].uri if row.id in outputs else None,
            "reused_from_execution": row.reused_from,
        }
        for row in latest.values()
    ]
    statuses = {c["status"] for c in components}
    status = RUNNING if RUNNING in statuses else FAILED if FAILED in statuses else SUCCEEDED if statuses else "empty"
    started = min((row.started for row in rows), default=run.created)
    ended = max((row.ended or 0 for row in rows), default=None)
    produced = [outputs[row.id] for row in latest.values() if row.id in outputs]
    return {
        "run_id": run.run_id,
        "run_dir": run.run_dir,
        "status": status,
        "started": started,
        "seconds": round(ended - started, 3) if ended and status != RUNNING else None,
        "components": components,
        "metric": key_metric(produced),
        "pushed_version": pushed_version(produced),
        "reused": sum(c["status"] == REUSED for c in components),
    }


def key_metric(produced) -> dict[str, Any] | None:
    """{"name", "value"} from the evaluation among `produced` artifacts, or None.

    Tolerant of the evaluation's shape: its metrics under "metrics" (flat, or per split
    under "test"), or at its top level.
    """
    for artifact in produced:
        if artifact.type != EVALUATION_TYPE:
            continue
        properties = artifact.properties or {}
        candidates = [properties.get("metrics"), properties]
        metrics = properties.get("metrics")
        if isinstance(metrics, Mapping):
            candidates.insert(1, metrics.get("test"))
        for found in candidates:
            if not isinstance(found, Mapping):
                continue
            for name in KEY_METRICS:
                if isinstance(found.get(name), (int, float)):
                    return {"name": name, "value": found[name]}
    return None


def pushed_version(produced) -> int | str | None:
    for artifact in produced:
        if artifact.type == PUSH_TYPE and (artifact.properties or {}).get("pushed"):
            return artifact.properties.get("version")
    return None


def format_history(history: list[dict[str, Any]]) -> str:
    """A table of runs; under each, its components' seconds ("reused", or the failure)."""
    if not history:
        return "no runs recorded"
    header = f"{'run':<24} {'started':<19} {'status':<10} {'seconds':>8} {'reused':>6}  {'metric':<16} {'pushed':<12}"
    lines = [header, "-" * len(header)]
    for run in history:
        metric = f"{run['metric']['name']} {run['metric']['value']:.4f}" if run["metric"] else "-"
        seconds = f"{run['seconds']:8.1f}" if run["seconds"] is not None else f"{'-':>8}"
        lines.append(
            f"{run['run_id']:<24} {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(run['started'])):<19} "
            f"{run['status']:<10} {seconds} {run['reused']:>6}  {metric:<16} {run['pushed_version'] or '-'!s:<12}"
        )
        lines.append("    " + "  ".join(_component_cell(c) for c in run["components"]))
    return "\n".join(lines)


def _component_cell(component: Mapping[str, Any]) -> str:
    name, status = component["component"], component["status"]
    attempt = f" (attempt {component['attempt']})" if component["attempt"] > 1 else ""
    if status == REUSED:
        return f"{name} reused"
    if status == FAILED:
        return f"{name} FAILED{attempt}: {_short(component['error'])}"
    if status == RUNNING:
        return f"{name} running{attempt}"
    return f"{name} {component['seconds']:.1f}s{attempt}"


def _short(error: str | None, width: int = 60) -> str:
    text = (error or "").splitlines()[0] if error else ""
    return text if len(text) <= width else text[: width - 3] + "..."
