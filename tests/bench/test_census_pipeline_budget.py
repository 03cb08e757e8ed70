"""The side-by-side benchmark gives Sluice the peer's work: its budget trains Wide & Deep."""

from bench.census_pipeline import PEER_FAMILY, SAME_BUDGET
from components.tuner.component import default_values
from pipelines.census.pipeline import CensusConfig, create_pipeline
from sluice.config import apply_overrides


def test_the_budget_trains_the_peers_family_without_a_search():
    config = apply_overrides(CensusConfig(home="/nonexistent"), SAME_BUDGET)
    tuner = create_pipeline(config).component("tuner").params
    assert tuner["max_trials"] == 0 and not config.compact_export.enabled  # the peer exports no TFLite
    # With no search the Trainer takes the first family's defaults: census's own default
    # search would train a gradient-boosted forest here.
    assert default_values(tuner["search_space"], tuner["families"])["family"] == PEER_FAMILY == "wide_deep"
