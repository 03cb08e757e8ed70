"""The layout of a statistics artifact (StatisticsGen's): one TFDV statistics file per split.

Validation, schema freezing and Transform read statistics; StatisticsGen writes them with
the same names, so both sides agree on where each split's statistics live.
"""

from __future__ import annotations

from sluice.artifacts import Artifact

STATS_FILE = "FeatureStats.pb"


def load_split_statistics(statistics: Artifact, split: str):
    """The DatasetFeatureStatisticsList of one split of a statistics artifact."""
    import tensorflow_data_validation as tfdv

    return tfdv.load_stats_binary(statistics.file(split, STATS_FILE))
