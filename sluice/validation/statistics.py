"""The statistics artifact (StatisticsGen's): one TFDV statistics file per split.

Validation, schema freezing and Transform read statistics; StatisticsGen writes them with
the same names and properties, so both sides agree on where each split's statistics live.
"""

from __future__ import annotations

import pydantic

from sluice.artifacts import Artifact, ArtifactProperties

STATS_FILE = "FeatureStats.pb"
# Numeric skew and drift read each side's shares from its quantiles histogram
# (sluice.validation.numeric_shift): a hundred buckets place the training deciles finely.
QUANTILES_HISTOGRAM_BUCKETS = 100


def stats_options():
    """TFDV's options for every statistics artifact: its defaults, with a finer quantiles histogram."""
    import tensorflow_data_validation as tfdv

    return tfdv.StatsOptions(num_quantiles_histogram_buckets=QUANTILES_HISTOGRAM_BUCKETS)


class StatisticsSplit(pydantic.BaseModel):
    """One split's statistics: how many examples they describe, and their file in the artifact."""

    model_config = pydantic.ConfigDict(frozen=True)

    num_examples: int
    file: str


class Statistics(ArtifactProperties):
    """A statistics artifact: split name -> its statistics."""

    splits: dict[str, StatisticsSplit]

    @staticmethod
    def split_file(split: str) -> str:
        """Where a split's statistics go, relative to the artifact."""
        return f"{split}/{STATS_FILE}"


def load_split_statistics(statistics: Artifact, split: str):
    """The DatasetFeatureStatisticsList of one split of a statistics artifact."""
    import tensorflow_data_validation as tfdv

    return tfdv.load_stats_binary(statistics.file(Statistics.of(statistics).splits[split].file))
