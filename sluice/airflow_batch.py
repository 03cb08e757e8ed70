"""The batch-scoring DAG of a pipeline: new spans of data to score, or a newly pushed model, start a scoring run.

`sluice_<pipeline>_batch_scoring` is scheduled on the spans asset of its input pattern
(`sluice.airflow_assets`: a new span on disk) and on the pipeline's pushed-model asset
(a new model rescores the latest span). Its one task runs
`sluice batch-predict <pipeline> --input <the span's files> --output <dir>` in a child
process, so the task runner never imports TensorFlow.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import pendulum

from sluice.airflow_dag import Retries, safe_name


def scoring_command(pipeline_name: str, input_pattern: str, output_dir: str, home: str, beam_args: Sequence[str] = ()) -> list[str]:
    """The `sluice batch-predict` command line of one scoring run."""
    sluice = shutil.which("sluice") or str(Path(sys.executable).parent / "sluice")
    return [sluice, "batch-predict", pipeline_name, "--input", input_pattern, "--output", output_dir, "--home", home, *beam_args]


def build_batch_scoring_dag(
    pipeline_name: str,
    input_pattern: str,
    *,
    output_root: str | None = None,
    start_date: pendulum.DateTime = pendulum.datetime(2026, 1, 1, tz="UTC"),
    overrides: Sequence[str] = (),
    beam_args: Sequence[str] = (),
    poke_interval: float = 60.0,
    retries: Retries = Retries(),
):
    """The DAG `sluice_<pipeline_name>_batch_scoring`.

    Args:
        pipeline_name: a pipeline under pipelines/.
        input_pattern: the rows to score, a pattern with span placeholders (`sluice.spans`).
        output_root: where predictions go, one directory per span (default `<home>/predictions/<pipeline>`).
        overrides: the pipeline's settings (its `home` above all).
        beam_args: Beam pipeline options of the scoring job.
        poke_interval: seconds between looks for a new span.
        retries: how a failed scoring run is retried.
    """
    from airflow.sdk import dag, get_current_context, task

    from sluice.airflow_assets import pushed_model_asset, span_asset
    from sluice.config import apply_overrides
    from sluice.registry import pipeline_module

    config = apply_overrides(pipeline_module(pipeline_name).Config(), list(overrides))
    output_root = output_root or str(Path(config.home) / "predictions" / pipeline_name)
    spans = span_asset(f"{pipeline_name}_scoring", input_pattern, config.home, poke_interval)
    pushed = pushed_model_asset(pipeline_name, config.serving_root)

    @dag(
        dag_id=f"sluice_{pipeline_name}_batch_scoring",
        schedule=spans | pushed,
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        tags=["sluice", pipeline_name, "batch_scoring"],
        default_args=retries.default_args(),
        doc_md=__doc__,
    )
    def batch_scoring_dag():
        @task(inlets=[spans, pushed])
        def batch_predict() -> str:
            from sluice.airflow_dag import _triggering_spans
            from sluice.spans import SpanSelection, resolve

            spans_started = _triggering_spans(get_current_context())
            selection = SpanSelection(span=max(spans_started)) if spans_started else SpanSelection()
            [chosen] = resolve(input_pattern, selection)
            output = str(Path(output_root) / safe_name(f"span-{chosen.span}" if chosen.span is not None else "all"))
            command = scoring_command(pipeline_name, chosen.pattern, output, config.home, beam_args)
            print("running:", " ".join(command))
            subprocess.run(command, check=True)
            return output

        batch_predict()

    return batch_scoring_dag()
