"""Serving rows are read by the pipeline's ExampleGen without the settings that only training
rows have: the label, and how rows are split (stratified by the label, by time, by key)."""

import pytest

from pipelines.census.pipeline import CensusConfig, create_pipeline
from sluice.config import apply_overrides
from sluice.validation.serving_check import serving_components


@pytest.mark.parametrize("split", [["data.split=stratified"], ["data.split=time", "data.split_time_column=age"], ["data.split_key=[\"age\"]"]])
def test_serving_example_gen_takes_the_pipelines_settings_less_label_and_split(split):
    pipeline = create_pipeline(apply_overrides(CensusConfig(home="/unused"), split))
    training = pipeline.component("example_gen")
    example_gen, _, _ = serving_components(pipeline, "/data/requests.csv", "income_bracket")

    params = example_gen.load_spec().make_params(example_gen.params, "example_gen")  # valid without the label column
    assert params.label is None and params.stratify_by is None and params.time_column is None and params.split_key is None
    assert "income_bracket" not in dict(params.csv_format().columns)
    assert training.params["label"] == "income_bracket"
    assert params.max_reject_fraction == training.params["max_reject_fraction"]
