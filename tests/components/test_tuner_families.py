"""The Tuner's `families` option: the census space searched over some of its families only."""

import pytest

from sluice.config import ConfigError
from sluice.modeling.families import stock_serving_families

SPACE = "pipelines.census.model:search_space"


def test_the_oracle_proposes_only_the_allowed_families():
    from components.tuner.component import Params, make_oracle

    params = Params(search_space=SPACE, model_fn="pipelines.census.model:build_model", label="y", families=stock_serving_families())
    oracle = make_oracle(params, None)
    proposed = {oracle.populate_space(str(i))["values"]["family"] for i in range(40)}
    assert proposed == {"linear", "dnn", "wide_deep"}
    everything = make_oracle(Params(search_space=SPACE, model_fn="m:f", label="y"), None)
    assert {everything.populate_space(str(i))["values"]["family"] for i in range(40)} > proposed


def test_defaults_stay_in_the_allowed_families_and_unknown_ones_are_named():
    from components.tuner.component import default_values

    assert default_values(SPACE)["family"] == "wide_deep"
    assert default_values(SPACE, ["random_forest"])["family"] == "random_forest"
    assert "rf_num_trees" in default_values(SPACE, ["random_forest"]) and "units" not in default_values(SPACE, ["random_forest"])
    with pytest.raises(ConfigError, match=r"families \['boosted'\] not in the space's families"):
        default_values(SPACE, ["boosted"])
