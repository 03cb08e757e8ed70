"""A label that does not fit the task is refused before training, naming the label and what was found."""

import numpy as np
import pytest

from sluice.modeling.tasks import LabelDoesNotFitTask, check_label, check_transformed_label, transformed_label_values


def test_labels_coded_zero_and_one_fit_a_binary_task():
    check_label(np.array([0, 1, 1, 0]), "income")
    check_label(np.array([0.0, 1.0]), "income")


@pytest.mark.parametrize(
    "values, found",
    [
        (np.linspace(0.5, 998.1, 1234), "has 1,234 distinct numeric values (from 0.5 to 998.1"),
        (np.array([1, 2, 2, 1]), "has 2 distinct values (from 1 to 2"),
        (np.array([0, 0, 0]), "has a single value (0) in the train split"),
        (np.array([b"<=50K", b">50K"]), "reaches the model as text (2 distinct values: '<=50K', '>50K')"),
    ],
    ids=["real_valued", "not_zero_one", "one_class", "text"],
)
def test_a_label_that_does_not_fit_a_binary_task_is_refused(values, found):
    with pytest.raises(LabelDoesNotFitTask) as raised:
        check_label(values, "income")
    message = str(raised.value)
    assert message.startswith("label 'income' ") and found in message
    assert "a binary task needs exactly 2 classes" in message


def test_an_unknown_task_is_named():
    with pytest.raises(LabelDoesNotFitTask, match="task 'ranking' is not one of"):
        check_label(np.array([0, 1]), "y", task="ranking")


def test_the_census_transform_labels_fit_and_a_real_valued_output_does_not(artifact):
    transform = artifact("transform")
    labels = transformed_label_values(transform, "income_bracket")
    assert set(np.unique(labels).tolist()) == {0, 1} and len(labels) == transform.properties["splits"]["train"]["rows"]
    check_transformed_label(transform, "income_bracket")
    with pytest.raises(LabelDoesNotFitTask, match=r"label 'age' has \d+ distinct numeric values"):
        check_transformed_label(transform, "age")  # z-scored: what a regression label looks like


def test_the_tuner_refuses_a_real_valued_label_before_any_trial(artifact, tmp_path):
    from pipelines.census.pipeline import create_pipeline
    from sluice.execute import execute
    import dataclasses

    from tests.helpers import small_census_config

    tuner = create_pipeline(small_census_config(tmp_path)).component("tuner")
    tuner = dataclasses.replace(tuner, params={**tuner.params, "label": "age"})
    with pytest.raises(LabelDoesNotFitTask, match="label 'age'"):
        execute(tuner, tmp_path / "run", {"transform": artifact("transform").uri})
    assert not (tmp_path / "run" / "tuner").exists()
