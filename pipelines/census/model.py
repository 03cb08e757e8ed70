"""The census search space and the model each point of it builds.

`search_space` declares the keras-tuner hyperparameters (each family's own under a
condition on `family`); `build_model` turns one set of values into a model of
`sluice.modeling.families`. With the search switched off, every hyperparameter takes its default.
"""

from __future__ import annotations

from typing import Mapping

from pipelines.census.features import CATEGORICAL_FEATURE_KEYS
from sluice import standard_model
from sluice.modeling.features import ModelFeatures
from sluice.standard_model import FAMILIES, FORESTS, NETWORKS

CROSSES = ("education_x_occupation", "country_x_occupation")
# Wide part of Wide & Deep: every id feature, the age buckets and the hashed crosses.
WIDE = (*CATEGORICAL_FEATURE_KEYS, "age_bucket", *CROSSES)


def search_space(hp) -> None:
    """Declares the hyperparameters of every family."""
    hp.Choice("family", FAMILIES, default="wide_deep")
    with hp.conditional_scope("family", ["linear", *NETWORKS]):
        hp.Float("learning_rate", 1e-4, 3e-2, sampling="log", default=3e-3)
    with hp.conditional_scope("family", NETWORKS):
        hp.Int("units", 32, 256, step=32, default=128)
        hp.Int("layers", 1, 3, default=2)
        hp.Choice("embedding_dim", [4, 8, 16], default=8)
        hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.1)
    with hp.conditional_scope("family", FORESTS):
        hp.Int("min_examples", 2, 20, default=5)
    with hp.conditional_scope("family", ["gradient_boosted_trees"]):
        hp.Int("gbt_num_trees", 100, 500, step=100, default=300)
        hp.Int("gbt_max_depth", 3, 8, default=6)
        hp.Float("gbt_shrinkage", 0.02, 0.3, sampling="log", default=0.1)
        hp.Float("gbt_subsample", 0.6, 1.0, step=0.1, default=1.0)
    with hp.conditional_scope("family", ["random_forest"]):
        hp.Int("rf_num_trees", 100, 500, step=100, default=300)
        hp.Int("rf_max_depth", 8, 24, step=4, default=16)


def build_model(values: Mapping, features: ModelFeatures, seed: int):
    """The model of one point of the space (`values`: hyperparameter name -> value)."""
    # Trees find interactions by splitting on the categories themselves; the hashed crosses
    # (1,000 ids each) serve the linear part, and cost a forest six times the training time.
    return standard_model.build_model(values, features, seed, wide=WIDE, not_for_forests=CROSSES)
