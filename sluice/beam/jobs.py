"""Running Beam steps: pipeline options shared by every step, and their counters.

Arguments a user gives after the pipeline's own (`--runner=DataflowRunner --project=...`,
`--direct_running_mode=multi_processing --direct_num_workers=2`) reach every Beam step
unchanged. The embedded default is DirectRunner in_memory, always set explicitly: Beam
2.68+ otherwise tries to download its Prism runner.
"""

from __future__ import annotations

import os
from typing import Sequence

from sluice.errors import SluiceError

DEFAULT_RUNNER = "DirectRunner"
DEFAULT_DIRECT_MODE = "in_memory"
_DIRECT_RUNNER_NAMES = ("direct", "directrunner")


def _has_flag(args: Sequence[str], flag: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in args)


def _flag_value(args: Sequence[str], flag: str) -> str | None:
    for index, arg in enumerate(args):
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
    return None


def complete_beam_args(beam_args: Sequence[str] = ()) -> list[str]:
    """`beam_args` with the runner and, for DirectRunner, the running mode made explicit."""
    args = list(beam_args)
    if not _has_flag(args, "--runner"):
        args.append(f"--runner={DEFAULT_RUNNER}")
    runner = (_flag_value(args, "--runner") or "").lower()
    if runner in _DIRECT_RUNNER_NAMES and not _has_flag(args, "--direct_running_mode"):
        args.append(f"--direct_running_mode={DEFAULT_DIRECT_MODE}")
    return args


def pipeline_options(beam_args: Sequence[str] = ()):
    """PipelineOptions for one Beam step, from the user's arguments plus Sluice's defaults."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from sluice.beam import patches

    patches.install_process_patches()
    options = PipelineOptions(complete_beam_args(beam_args))
    # Said for every job's options, and unsaid when a job ends (`run_and_count`): a job's
    # pickles skip compression only while a job that runs in this process is being built.
    patches.job_runs_in_process(_direct_mode(options) == "in_memory")
    return options


def _direct_mode(options) -> str | None:
    """DirectRunner's running mode ("in_memory", "multi_processing", ...); None for another runner."""
    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    runner = (options.view_as(StandardOptions).runner or "").lower()
    return options.view_as(DirectOptions).direct_running_mode if runner in _DIRECT_RUNNER_NAMES else None


def new_pipeline(beam_args: Sequence[str] = (), worker_imports: Sequence[str] = ()):
    """A Beam pipeline for one step, with `pipeline_options(beam_args)`; run it with `run_and_count`.

    Under DirectRunner multi_processing, the job's workers start now (`sluice.beam.warm_workers`)
    and import `worker_imports` (the libraries the step's DoFns use) while the step builds
    its pipeline, instead of after it, in the job's first stages; unless library patches
    are off or Beam is not the version that was tested (`sluice.beam.patches`).
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import DirectOptions

    from sluice.beam import patches

    options = pipeline_options(beam_args)
    if _direct_mode(options) == "multi_processing" and patches.active("warm_workers"):
        from sluice.beam.warm_workers import warm_workers_runner

        workers = options.view_as(DirectOptions).direct_num_workers
        count = workers if workers > 0 else os.cpu_count()
        return beam.Pipeline(runner=warm_workers_runner(count, worker_imports), options=options)
    return beam.Pipeline(options=options)


class DryRunBuilt(SluiceError):
    """`--dry_run`: the runner built the job and submitted nothing; `job` is what it built."""

    def __init__(self, job):
        self.job = job
        steps = len(getattr(getattr(job, "proto", None), "steps", []) or [])
        super().__init__(f"--dry_run: the job was built for the runner ({steps} steps) and not submitted")


def run_and_count(pipeline, namespace: str) -> dict[str, int]:
    """Runs a built pipeline to completion; returns its committed counters in `namespace`.

    Progress shows the step's rows (`step_rows`): live where the runner runs the job
    apart and answers metrics queries while it runs (Dataflow, say), at the end where
    `run()` returns only once the job is done (DirectRunner).

    Raises:
        DryRunBuilt: with `--dry_run` (e.g. DataflowRunner): the job was built, not run.
    """
    from apache_beam.options.pipeline_options import TestOptions

    from sluice import progress
    from sluice.beam import patches

    with progress.task(f"{namespace}: Beam job", unit="rows") as step:
        try:
            patches.prepare(pipeline)
            result = pipeline.run()
            if pipeline.options.view_as(TestOptions).dry_run:
                raise DryRunBuilt(getattr(result, "job", None))
            _wait_showing_rows(result, namespace, step)
        finally:
            patches.job_runs_in_process(False)
            close = getattr(pipeline.runner, "close", None)  # warm workers left unused
            if close is not None:
                close()
        counters = _counters(result, namespace, committed=True)
        _show_rows(step, counters)
    return counters


_POLL_MILLISECONDS = 2000


def _wait_showing_rows(result, namespace: str, step) -> None:
    """Waits for the job, showing its rows every couple of seconds where the runner can say."""
    from apache_beam.runners.runner import PipelineState

    state = result.state
    while not PipelineState.is_terminal(state):
        try:
            state = result.wait_until_finish(duration=_POLL_MILLISECONDS) or result.state
        except NotImplementedError:  # DirectRunner's streaming result waits only to the end
            break
        _show_rows(step, _counters(result, namespace, committed=False))
    result.wait_until_finish()


def step_rows(counters: dict[str, int]) -> int | None:
    """The rows a step went through, by its counters' names: `rows_read`, else the sum of
    its `rows_<split>` counters; None when it counts no rows."""
    if "rows_read" in counters:
        return counters["rows_read"]
    per_split = [value for name, value in counters.items() if name.startswith("rows_")]
    return sum(per_split) if per_split else None


def _show_rows(step, counters: dict[str, int]) -> None:
    rows = step_rows(counters)
    if rows is not None:
        step.update(completed=rows)


def _counters(result, namespace: str, committed: bool) -> dict[str, int]:
    from apache_beam.metrics.metric import MetricsFilter

    try:
        counters = result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]
    except Exception:
        if committed:
            raise
        return {}  # a runner that cannot answer while the job runs: no live count
    if committed:
        return {counter.key.metric.name: counter.committed for counter in counters}
    return {counter.key.metric.name: counter.attempted or 0 for counter in counters}
