"""Test data and settings shared by several test modules."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CENSUS_SAMPLE_TRAIN = ROOT / "tests" / "data" / "census" / "adult_sample.data"
CENSUS_SAMPLE_TEST = ROOT / "tests" / "data" / "census" / "adult_sample.test"
# A few hundred rows and a few steps: every stage runs for real, in seconds.
SMALL_CENSUS_OVERRIDES = (
    f"data.train_file={CENSUS_SAMPLE_TRAIN}",
    f"data.test_file={CENSUS_SAMPLE_TEST}",
    "tuner.max_trials=2",
    "tuner.trial_steps=5",
    "trainer.train_steps=30",
    "trainer.batch_size=64",
    "min_accuracy=0",
    # 300 test rows against 540 train rows: sampling noise moves these two histograms
    # past their skew thresholds, so on this sample they warn instead of block.
    'validation.warn_only=["capital_gain", "education_num"]',
)


def small_census_config(home: Path, *extra: str):
    from pipelines.census.pipeline import CensusConfig
    from sluice.config import apply_overrides

    return apply_overrides(CensusConfig(home=str(home)), SMALL_CENSUS_OVERRIDES + extra)
