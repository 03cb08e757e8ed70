"""The local runner: every component of a pipeline, in order, in this process."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Sequence

from sluice.execute import Outcome, execute
from sluice.metadata.store import MetadataStore
from sluice.pipeline import Pipeline


@dataclasses.dataclass(frozen=True)
class RunResult:
    """The artifacts of one run, in component order, with their wall times."""

    pipeline: str
    run_id: str
    run_dir: str
    outcomes: tuple[Outcome, ...]

    def uri(self, component: str) -> str:
        for outcome in self.outcomes:
            if outcome.component == component:
                return outcome.uri
        raise KeyError(component)


def new_run_id() -> str:
    """The local time to the microsecond, e.g. 20261201T021500-123456: ids sort as runs began."""
    now = time.time_ns()
    return time.strftime("%Y%m%dT%H%M%S", time.localtime(now // 1_000_000_000)) + f"-{now // 1000 % 1_000_000:06d}"


def run_pipeline(
    pipeline: Pipeline,
    artifact_root: str | Path,
    *,
    run_id: str | None = None,
    beam_args: Sequence[str] = (),
    on_outcome: Callable[[Outcome], None] | None = None,
    store: MetadataStore | None = None,
    cache: bool = True,
) -> RunResult:
    """Runs `pipeline` under `<artifact_root>/<pipeline>/<run_id>/`.

    Components run in the pipeline's order, which puts each after every component it
    reads or names in `after`. Stops at the first component that raises; the artifacts
    already finished stay, and the failing component leaves nothing behind. With a
    `store`, each execution is recorded there and, unless `cache` is off, reuses an
    artifact an earlier run sealed from the same inputs, code and settings.
    """
    run_id = run_id or new_run_id()
    run_dir = Path(artifact_root) / pipeline.name / run_id
    outcomes: list[Outcome] = []
    uris: dict[str, str] = {}
    for component in pipeline.components:
        input_uris = {argument: uris[upstream] for argument, upstream in component.inputs.items()}
        outcome = execute(component, run_dir, input_uris, beam_args, store=store, cache=cache)
        uris[component.name] = outcome.uri
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return RunResult(pipeline.name, run_id, str(run_dir), tuple(outcomes))
