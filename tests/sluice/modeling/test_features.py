"""ModelFeatures: what a model reads, and a model that reads fewer of them."""

import pytest

from sluice.modeling.features import ModelFeatures

FEATURES = ModelFeatures(("age", "hours"), {"sex": 3, "education_x_occupation": 1000}, "income")


def test_a_model_can_read_fewer_features():
    fewer = FEATURES.without("education_x_occupation", "hours")
    assert fewer == ModelFeatures(("age",), {"sex": 3}, "income")
    assert FEATURES.categorical["education_x_occupation"] == 1000  # the original is unchanged


def test_only_existing_features_can_be_left_out():
    with pytest.raises(ValueError, match=r"\['colour'\] are not among"):
        FEATURES.without("colour")
