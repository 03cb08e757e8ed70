"""The search space and model of a declared pipeline that brings none of its own.

Every family of `sluice.modeling.families` over every transformed feature; Wide & Deep's
wide part is every id feature. `search_space_for` sizes the space to a data set.
"""

from __future__ import annotations

from typing import Mapping

from sluice.modeling import families
from sluice.modeling.features import ModelFeatures

FAMILIES = ("linear", "dnn", "wide_deep", "gradient_boosted_trees", "random_forest")
NETWORKS = ["dnn", "wide_deep"]
FORESTS = ["gradient_boosted_trees", "random_forest"]


def declare(
    hp,
    *,
    max_units: int = 256,
    max_layers: int = 3,
    max_trees: int = 500,
    default_family: str = "gradient_boosted_trees",
    families: tuple[str, ...] = FAMILIES,
) -> None:
    """Declares the hyperparameters of `families` (default: every family), networks up to
    `max_units` x `max_layers` and forests up to `max_trees` trees."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise ValueError(f"families {list(unknown or families)} not among {FAMILIES}")
    families = [f for f in FAMILIES if f in families]
    hp.Choice("family", families, default=default_family if default_family in families else families[0])
    with hp.conditional_scope("family", ["linear", *NETWORKS]):
        hp.Float("learning_rate", 1e-4, 3e-2, sampling="log", default=3e-3)
    with hp.conditional_scope("family", NETWORKS):
        hp.Int("units", 16, max_units, step=16, default=min(128, max_units))
        hp.Int("layers", 1, max_layers, default=min(2, max_layers))
        hp.Choice("embedding_dim", [4, 8, 16], default=8)
        hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.1)
    with hp.conditional_scope("family", FORESTS):
        hp.Int("min_examples", 2, 20, default=5)
    trees = max(max_trees // 5, 20)
    with hp.conditional_scope("family", ["gradient_boosted_trees"]):
        hp.Int("gbt_num_trees", trees, max_trees, step=trees, default=min(300, max_trees))
        hp.Int("gbt_max_depth", 3, 8, default=6)
        hp.Float("gbt_shrinkage", 0.02, 0.3, sampling="log", default=0.1)
        hp.Float("gbt_subsample", 0.6, 1.0, step=0.1, default=1.0)
    with hp.conditional_scope("family", ["random_forest"]):
        hp.Int("rf_num_trees", trees, max_trees, step=trees, default=min(300, max_trees))
        hp.Int("rf_max_depth", 8, 24, step=4, default=16)


def search_space(hp) -> None:
    """Every family, with the default sizes."""
    declare(hp)


def build_model(
    values: Mapping, features: ModelFeatures, seed: int, *, wide: tuple[str, ...] | None = None, not_for_forests: tuple[str, ...] = ()
):
    """The model of one point of the space (`values`: hyperparameter name -> value).

    Args:
        wide: the id features of Wide & Deep's wide part (default: every id feature).
        not_for_forests: features the forests leave out (e.g. hashed crosses, which a tree
            finds for itself by splitting on the categories).
    """
    family = values["family"]
    if family == "linear":
        return families.linear(features, learning_rate=values["learning_rate"])
    network = {name: values[name] for name in ("units", "layers", "embedding_dim", "dropout", "learning_rate") if name in values}
    if family == "dnn":
        return families.dnn(features, **network)
    if family == "wide_deep":
        return families.wide_deep(features, wide=tuple(features.categorical) if wide is None else wide, **network)
    forest_features = features.without(*not_for_forests)
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
    raise ValueError(f"unknown family {family!r} (one of {FAMILIES})")
