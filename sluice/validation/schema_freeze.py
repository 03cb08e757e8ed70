"""Freezing an inferred schema into a pipeline's reviewed schema file (`reviewed_schema`) for review.

The frozen schema starts from TFDV's inference on the train split and adds what a
reviewed schema needs: environments TRAINING and SERVING (the label absent at serving),
presence constraints with room for the missing rate seen in training, a tolerated share
of unseen categories, and skew/drift thresholds of a kind that can fire for each feature.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from sluice.artifacts import Artifact
from sluice.errors import SluiceError

SKEW_THRESHOLD = 0.1
PRESENCE_MARGIN = 0.05
# The share of a split that categories unseen in training may cover before it blocks (TFDV's
# distribution_constraints.min_domain_mass = 1 - share); a smaller share is a warning. 1% lets
# the rare names of a long tail through and still stops a new value that a model would meet
# in one row of a hundred. A tail with many values seen once in training shows that new ones
# keep coming: the tolerated share is then three times the Good-Turing estimate of the
# unseen share (values seen once / values), so a random split of the same data passes.
UNSEEN_CATEGORY_SHARE = 0.01
UNSEEN_CATEGORY_MARGIN = 3


class SchemaExists(SluiceError):
    """The reviewed schema is there already; freezing again needs --force."""


def tolerated_unseen_share(stats, minimum: float = UNSEEN_CATEGORY_SHARE) -> float:
    """The share of unseen categories a split may hold, given a categorical feature's train statistics."""
    string_stats = stats.string_stats
    counts = [b.sample_count for b in string_stats.rank_histogram.buckets] or [v.frequency for v in string_stats.top_values]
    present = string_stats.common_stats.num_non_missing
    seen_once = sum(1 for count in counts if round(count) == 1)
    return min(0.5, max(minimum, UNSEEN_CATEGORY_MARGIN * seen_once / present if present else 0.0))


def tolerate_unseen_categories(schema, train_statistics, minimum: float = UNSEEN_CATEGORY_SHARE) -> None:
    """Sets each categorical feature's min_domain_mass: unseen values block only beyond their tolerated share."""
    from sluice.validation.findings import feature_statistics

    for feature in schema.feature:
        stats = feature_statistics(train_statistics, feature.name)
        if stats is None or not stats.HasField("string_stats"):
            continue
        if feature.HasField("string_domain") or feature.domain:
            share = tolerated_unseen_share(stats, minimum)
            feature.distribution_constraints.min_domain_mass = round(1 - share, 4)


def frozen_schema(train_statistics, label: str | None, unseen_category_share: float = UNSEEN_CATEGORY_SHARE):
    """The schema inferred from train statistics, with Sluice's review defaults added.

    Without a label, every feature is expected in both environments.
    """
    import tensorflow_data_validation as tfdv
    from tensorflow_metadata.proto.v0 import schema_pb2

    from sluice.validation.findings import feature_statistics

    schema = tfdv.infer_schema(train_statistics, infer_feature_shape=True)
    schema.default_environment.extend(["TRAINING", "SERVING"])
    num_examples = train_statistics.datasets[0].num_examples
    for feature in schema.feature:
        if feature.name == label:
            feature.not_in_environment.append("SERVING")
        stats = feature_statistics(train_statistics, feature.name)
        common = stats.num_stats.common_stats if stats.HasField("num_stats") else stats.string_stats.common_stats
        present = common.num_non_missing / num_examples if num_examples else 1.0
        if present < 1.0:
            feature.presence.min_fraction = max(0.0, math.floor((present - PRESENCE_MARGIN) * 100) / 100)
        categorical = feature.type == schema_pb2.BYTES or (feature.type == schema_pb2.INT and feature.int_domain.is_categorical)
        for comparator in (feature.skew_comparator, feature.drift_comparator):
            if categorical:
                comparator.infinity_norm.threshold = SKEW_THRESHOLD
            else:
                comparator.jensen_shannon_divergence.threshold = SKEW_THRESHOLD
    tolerate_unseen_categories(schema, train_statistics, unseen_category_share)
    return schema


def freeze(statistics: Artifact, label: str, target: str | Path, force: bool = False) -> Path:
    """Writes the frozen schema of a run's statistics to `target`; never overwrites unless `force`."""
    import tensorflow_data_validation as tfdv
    from google.protobuf import text_format

    from sluice.validation.statistics import load_split_statistics

    target = Path(target)
    if target.exists() and not force:
        raise SchemaExists(f"{target} exists (a reviewed schema is never overwritten); pass --force to replace it")
    schema = frozen_schema(load_split_statistics(statistics, "train"), label)
    header = (
        f"# Frozen by `sluice schema freeze` on {time.strftime('%Y-%m-%d')} from the train statistics of\n"
        f"# {statistics.uri}. Review before committing: value ranges of numeric features,\n"
        "# presence constraints, the tolerated share of unseen categories, skew/drift thresholds.\n"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = target.with_name(f".{target.name}.draft")
    draft.write_text(header + text_format.MessageToString(schema))
    tfdv.load_schema_text(str(draft))  # what was written parses back
    draft.replace(target)
    return target
