"""The census search space and the model each point of it builds.

`search_space` declares the keras-tuner hyperparameters (each family's own under a
condition on `family`); `build_model` turns one set of values into a model of
`sluice.modeling.families`. With the search switched off, every hyperparameter takes its default.
"""

from __future__ import annotations

from typing import Mapping

from pipelines.census.features import CATEGORICAL_FEATURE_KEYS
from sluice.modeling import families
from sluice.modeling.features import ModelFeatures

FAMILIES = ("linear", "dnn", "wide_deep", "gradient_boosted_trees", "random_forest")
NETWORKS = ["dnn", "wide_deep"]
FORESTS = ["gradient_boosted_trees", "random_forest"]
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
    family = values["family"]
    if family == "linear":
        return families.linear(features, learning_rate=values["learning_rate"])
    network = {name: values[name] for name in ("units", "layers", "embedding_dim", "dropout", "learning_rate") if name in values}
    if family == "dnn":
        return families.dnn(features, **network)
    if family == "wide_deep":
        return families.wide_deep(features, wide=WIDE, **network)
    # Trees find interactions by splitting on the categories themselves; the hashed crosses
    # (1,000 ids each) serve the linear part, and cost a forest six times the training time.
    forest_features = features.without(*CROSSES)
    if family == "gradient_boosted_trees":
        return families.gradient_boosted_trees(
            forest_features,
            num_trees=values["gbt_num_trees"],
            max_depth=values["gbt_max_depth"],
            shrinkage=values["gbt_shrinkage"],
            subsample=values["gbt_subsample"],
            min_examples=values["min_examples"],
            seed=seed,
        )
    if family == "random_forest":
        return families.random_forest(
            forest_features, num_trees=values["rf_num_trees"], max_depth=values["rf_max_depth"], min_examples=values["min_examples"], seed=seed
        )
    raise ValueError(f"census model: unknown family {family!r} (one of {FAMILIES})")
