"""The AutoML suite's data sets: what the issue asks of them, and one fixed split each."""

import pytest

from bench.automl_suite import DATASETS, DEFAULT_DATASETS


@pytest.fixture(scope="module")
def loaded():
    return {name: DATASETS[name].load() for name in DEFAULT_DATASETS}


def test_the_default_sets_cover_every_task_a_large_set_and_missing_values(loaded):
    assert {DATASETS[name].task for name in loaded} == {"binary", "multiclass", "regression"}
    assert "census" in loaded and max(len(train) + len(test) for train, test in loaded.values()) > 10_000
    assert any(train.isna().any().any() for train, _ in loaded.values())
    for name, (train, test) in loaded.items():
        label = DATASETS[name].label
        assert list(train.columns) == list(test.columns) and train[label].notna().all(), name
        assert not set(train.index) & set(test.index) or name == "census", name  # held-out rows


def test_the_split_is_fixed_and_census_labels_match_across_its_files(loaded):
    again = DATASETS["penguins"].load()
    assert again[1].index.equals(loaded["penguins"][1].index)
    train, test = loaded["census"]
    assert set(train.income_bracket) == set(test.income_bracket) == {"<=50K", ">50K"}  # adult.test writes ">50K."
    assert (len(train), len(test)) == (32_561, 16_281)
