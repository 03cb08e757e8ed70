"""`sluice lineage <artifact URI | pipeline@version>`: the tree of executions and artifacts
that produced an artifact, from the store.

Each node is an artifact with the execution that sealed it (run, component, status) and,
per artifact type, what a person asks of it: the data files and their hashes behind
Examples, the reviewed schema, the tuner's trials and chosen hyperparameters, the
evaluation's metrics, the blessing and the push. Its children are the artifacts that
execution read. An artifact reached twice (Transform's, read by Tuner, Trainer and
Evaluator) is expanded once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa

from sluice.errors import SluiceError
from sluice.metadata.store import REUSED, MetadataStore, artifact_key, artifacts, events, executions, pipelines, runs

PUSH_TYPE = "PushedModel"
TRIALS_FILE = "trials.json"


class LineageError(SluiceError, LookupError):
    """The artifact or pushed version is not in the store."""


def lineage(store: MetadataStore, target: str) -> dict[str, Any]:
    """The tree behind `target`: an artifact URI, or "pipeline@version" of a pushed model."""
    store.reap_killed()
    artifact_id = _resolve(store, target)
    return _node(store, artifact_id, seen=set())


def _resolve(store: MetadataStore, target: str) -> int:
    if "@" in target and "/" not in target.partition("@")[0]:
        pipeline, _, version = target.partition("@")
        rows = store.rows(
            sa.select(artifacts.c.id, artifacts.c.properties)
            .join(events, (events.c.artifact_id == artifacts.c.id) & (events.c.direction == "output"))
            .join(executions, executions.c.id == events.c.execution_id)
            .join(runs, runs.c.id == executions.c.run_id)
            .join(pipelines, pipelines.c.id == runs.c.pipeline_id)
            .where(artifacts.c.type == PUSH_TYPE, pipelines.c.name == pipeline)
            .order_by(artifacts.c.id.desc())
        )
        for row in rows:
            if row.properties.get("pushed") and str(row.properties.get("version")) == version:
                return row.id
        raise LineageError(f"no push of version {version} of pipeline {pipeline!r} is recorded in {store.path}")
    found = store.rows(sa.select(artifacts.c.id).where(artifacts.c.uri == artifact_key(target)))
    if not found:
        raise LineageError(f"{target} is not an artifact recorded in {store.path}")
    return found[0].id


def _node(store: MetadataStore, artifact_id: int, seen: set[int]) -> dict[str, Any]:
    artifact = store.rows(artifacts.select().where(artifacts.c.id == artifact_id))[0]
    node: dict[str, Any] = {"uri": artifact.uri, "type": artifact.type, "fingerprint": artifact.fingerprint}
    if artifact_id in seen:
        return {**node, "shown_above": True}
    seen.add(artifact_id)
    writer = store.rows(
        sa.select(executions, runs.c.run_id.label("run"))
        .join(events, (events.c.execution_id == executions.c.id) & (events.c.direction == "output"))
        .join(runs, runs.c.id == executions.c.run_id)
        .where(events.c.artifact_id == artifact_id, executions.c.status != REUSED)
        .order_by(executions.c.id)
    )
    execution = writer[0] if writer else None
    node["details"] = describe(artifact.type, artifact.properties, artifact.uri, execution.external_inputs if execution else None)
    if execution is None:
        node["execution"] = None
        node["inputs"] = {}
        return node
    node["execution"] = {
        "component": execution.component,
        "run": execution.run,
        "status": execution.status,
        "attempt": execution.attempt,
        "started": execution.started,
        "ended": execution.ended,
        "host": execution.host,
        "producer": execution.producer,
    }
    read = store.rows(
        sa.select(events.c.name, events.c.artifact_id)
        .where(events.c.execution_id == execution.id, events.c.direction == "input")
        .order_by(events.c.id)
    )
    node["inputs"] = {row.name: _node(store, row.artifact_id, seen) for row in read}
    return node


def describe(type_name: str, properties: Mapping[str, Any], uri: str, files: Mapping[str, str] | None) -> dict[str, Any]:
    """What lineage shows of one artifact, by type; tolerant of properties it does not know."""
    properties = properties or {}
    details: dict[str, Any] = {}
    if files:
        details["files"] = dict(files)  # local files its producer's settings name, with sha256
    if type_name == "Examples":
        details["spans"] = {
            split: {span: {"rows": value.get("rows"), "source": value.get("source"), "key": value.get("key")} for span, value in (info.get("spans") or {}).items()}
            for split, info in (properties.get("splits") or {}).items()
        }
        details["rows"] = properties.get("rows")
    elif type_name == "Schema":
        details.update({key: properties.get(key) for key in ("source", "reviewed_schema", "inferred_from") if key in properties})
    elif type_name == "TransformGraph":
        details.update({key: properties.get(key) for key in ("preprocessing_fn", "analyzed_split") if key in properties})
    elif type_name == "HyperParameters":
        details.update({key: properties.get(key) for key in ("oracle", "objective", "best_trial", "best_score", "hyperparameters") if key in properties})
        details["trials"] = _trials(uri)
    elif type_name == "Model":
        details["hyperparameters"] = properties.get("hyperparameters")
    elif type_name == "ModelEvaluation":
        details.update({key: properties.get(key) for key in ("chosen", "chosen_by", "metrics", "split", "blessed", "baseline") if key in properties})
    elif type_name == "DataValidation":
        details.update({key: properties.get(key) for key in ("blocking", "warnings") if key in properties})
    elif type_name == PUSH_TYPE:
        details.update({key: properties.get(key) for key in ("pushed", "blessed", "version", "pushed_to", "model", "accuracy", "reason") if key in properties})
    return details


def _trials(uri: str) -> list[dict[str, Any]] | None:
    path = Path(uri) / TRIALS_FILE
    try:
        trials = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return [
        {key: trial.get(key) for key in ("trial_id", "status", "score", "hyperparameters")}
        for trial in trials if isinstance(trial, Mapping)
    ]


def format_lineage(node: Mapping[str, Any]) -> str:
    """The tree as indented text, the asked-for artifact first."""
    lines: list[str] = []
    _format(node, "", "", lines)
    return "\n".join(lines)


def _format(node: Mapping[str, Any], label: str, indent: str, lines: list[str]) -> None:
    execution = node.get("execution")
    made_by = f"{execution['component']} in run {execution['run']}" if execution else "producer not recorded"
    head = f"{indent}{label}{node['type']} {node['uri']}"
    if node.get("shown_above"):
        lines.append(f"{head}  (shown above)")
        return
    lines.append(f"{head}  [{made_by}; fingerprint {node['fingerprint'][:12]}]")
    inner = indent + "    "
    for line in _detail_lines(node.get("details") or {}):
        lines.append(f"{inner}{line}")
    for name, child in (node.get("inputs") or {}).items():
        _format(child, f"<- {name}: ", inner, lines)


def _detail_lines(details: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in details.items():
        if value is None:
            continue
        if key == "files":
            lines.extend(f"file {path}  sha256 {digest[:16]}" for path, digest in value.items())
        elif key == "spans":
            for split, spans in value.items():
                for span, info in spans.items():
                    lines.append(f"span {split}/{span}: {info.get('rows')} rows of {info.get('source')} ({info.get('key')})")
        elif key == "trials":
            for trial in value:
                score = trial.get("score")
                score_text = f"{score:.4f}" if isinstance(score, (int, float)) else "-"
                lines.append(f"trial {trial.get('trial_id')} {trial.get('status')} score {score_text}  {_compact(trial.get('hyperparameters'))}")
        else:
            lines.append(f"{key}: {_compact(value)}")
    return lines


def _compact(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_compact(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
