"""Airflow assets of a pipeline: the spans of its inputs, and its pushed model.

- `spans`: one asset per input pattern with span placeholders (`sluice.spans`), watched
  by `NewSpanTrigger` in Airflow's triggerer (an AssetWatcher: event-driven scheduling,
  nothing occupies a worker slot while waiting). When a span newer than every span seen
  so far appears, the asset gets an event that carries the new span numbers; a DAG
  scheduled on the asset starts, and its tasks read those spans.
- `pushed model`: the pusher task's outlet. It gets an event whenever a model is pushed
  (a run that pushes nothing skips its pusher task, so no event); batch scoring and
  monitoring DAGs are scheduled on it.

A span must appear whole: write its files elsewhere and rename them (or their directory)
into place, as Sluice's own artifacts do.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from sluice.spans import has_placeholders, spans_on_disk


def pushed_model_asset(pipeline_name: str, serving_root: str | None = None):
    """The asset of `pipeline_name`'s pushed models: `<serving root>/<pipeline>/` (TF Serving's layout)."""
    from airflow.sdk import Asset

    from sluice.config import default_home

    root = serving_root or str(Path(default_home()) / "serving")
    return Asset(name=f"sluice_{pipeline_name}_pushed_model", uri=f"file://{Path(root) / pipeline_name}", group="model")


def span_inputs(config) -> list[str]:
    """Every setting of a pipeline's config that is a pattern with span placeholders."""

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, str) and has_placeholders(value):
            yield value

    return sorted(set(walk(config.model_dump(mode="json"))))


def span_asset(pipeline_name: str, pattern: str, home: str, poke_interval: float = 60.0):
    """The asset of one span input, watched for new spans."""
    from airflow.sdk import Asset, AssetWatcher

    digest = hashlib.sha256(pattern.encode()).hexdigest()[:12]
    state_file = str(Path(home) / "state" / f"spans-{digest}.json")
    trigger = NewSpanTrigger(pattern=pattern, state_file=state_file, poke_interval=poke_interval)
    return Asset(
        name=f"sluice_{pipeline_name}_spans_{digest}",
        uri=f"file://{pattern}",
        group="spans",
        watchers=[AssetWatcher(name=f"sluice_{pipeline_name}_new_spans_{digest}", trigger=trigger)],
    )


def new_span_asset(pipeline_name: str, config, poke_interval: float = 60.0):
    """The assets of every span input of the pipeline (any of them with a new span starts a run).

    Raises:
        ValueError: the pipeline has no input with span placeholders.
    """
    from airflow.sdk import AssetAny

    patterns = span_inputs(config)
    if not patterns:
        raise ValueError(f"pipeline {pipeline_name!r} has no input with {{SPAN}} or {{YYYY}}-{{MM}}-{{DD}}; nothing to watch")
    assets = [span_asset(pipeline_name, pattern, config.home, poke_interval) for pattern in patterns]
    return assets[0] if len(assets) == 1 else AssetAny(*assets)


def unseen_spans(on_disk: list[int], state_file: str) -> tuple[list[int], bool]:
    """(spans newer than the newest one seen, whether anything was seen before)."""
    try:
        newest_seen = json.loads(Path(state_file).read_text())["newest_span"]
    except FileNotFoundError:
        return [], False
    return sorted(span for span in on_disk if span > newest_seen), True


def remember_newest(state_file: str, newest: int) -> None:
    path = Path(state_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(f".{os.getpid()}.tmp")
    staging.write_text(json.dumps({"newest_span": newest}))
    os.replace(staging, path)


class NewSpanTrigger(BaseEventTrigger):
    """Fires when a span newer than every span seen before appears under `pattern`.

    The newest span seen is kept in `state_file`, so a restarted triggerer neither fires
    again for old spans nor misses one that arrived meanwhile. The first poll (no state
    yet) only records what is there: the spans on disk when watching starts are history,
    not news.
    """

    def __init__(self, *, pattern: str, state_file: str, poke_interval: float = 60.0):
        super().__init__()
        self.pattern = pattern
        self.state_file = state_file
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"pattern": self.pattern, "state_file": self.state_file, "poke_interval": self.poke_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            on_disk = sorted(await asyncio.to_thread(spans_on_disk, self.pattern))
            new, seen_before = unseen_spans(on_disk, self.state_file)
            if not seen_before:
                remember_newest(self.state_file, on_disk[-1] if on_disk else -1)
            elif new:
                self.log.info("new span(s) %s of %s", new, self.pattern)
                remember_newest(self.state_file, new[-1])
                yield TriggerEvent({"pattern": self.pattern, "spans": new})
            await asyncio.sleep(self.poke_interval)
