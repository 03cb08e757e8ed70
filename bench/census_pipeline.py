"""Wall time per component of the census pipeline, tuner off and 500 training steps.

Printed beside the figures of TFX 1.16's LocalDagRunner doing the same chain on the same
data on this kind of machine (DirectRunner in_memory, no tuner, 500 training steps of a
small wide&deep model): TFX cannot be installed beside this stack (it needs Python <= 3.10),
so its run is a recorded reference, not one measured here. Goal: total <= 0.5 x TFX.

    .venv/bin/python bench/census_pipeline.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.census.pipeline import CensusConfig, create_pipeline  # noqa: E402
from sluice.config import apply_overrides  # noqa: E402
from sluice.process import exit_now  # noqa: E402
from sluice.runner import run_pipeline  # noqa: E402

TFX_SECONDS = {"example_gen": 26, "statistics_gen": 13, "transform": 85, "trainer": 84, "evaluator": 38}
TFX_TOTAL = 247
SAME_BUDGET = ["tuner.max_trials=0", "trainer.train_steps=500", "trainer.early_stopping_patience=0"]


def main() -> None:
    config = apply_overrides(CensusConfig(home=tempfile.mkdtemp(prefix="census_bench-")), SAME_BUDGET)
    started = time.monotonic()
    result = run_pipeline(create_pipeline(config), config.artifact_root)
    total = time.monotonic() - started
    print(f"\nCensus pipeline, {' '.join(SAME_BUDGET)}, DirectRunner in_memory")
    print(f"{'component':<18} {'sluice s':>9} {'TFX 1.16 s':>11} {'ratio':>7}")
    for outcome in result.outcomes:
        reference = TFX_SECONDS.get(outcome.component)
        ratio = f"{outcome.seconds / reference:7.2f}" if reference else ""
        print(f"{outcome.component:<18} {outcome.seconds:9.1f} {reference or '':>11} {ratio}")
    print(f"{'total':<18} {total:9.1f} {TFX_TOTAL:>11} {total / TFX_TOTAL:7.2f}   (goal <= 0.50)")


if __name__ == "__main__":
    main()
    exit_now(0)
