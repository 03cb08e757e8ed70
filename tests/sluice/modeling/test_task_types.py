"""Multi-class and regression beside binary: metrics, label rules, objectives and each family's head."""

import numpy as np
import pytest

from sluice.config import ConfigError
from sluice.modeling.metrics import check_objective, default_objective, multiclass_metrics, regression_metrics, task_metrics
from sluice.modeling.tasks import LabelDoesNotFitTask, check_label


def test_multiclass_metrics_per_class_and_macro():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8], [0.5, 0.2, 0.3]])
    m = multiclass_metrics(labels, probabilities)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.2, 0.8, 0.6, 0.8, 0.3])))
    # Predicted: 0, 1, 1, 1, 2, 0.
    assert (m["class_0_precision"], m["class_0_recall"], m["class_0_examples"]) == (0.5, 0.5, 2)
    assert (m["class_1_precision"], m["class_1_recall"]) == (pytest.approx(2 / 3), 1.0)
    assert (m["class_2_precision"], m["class_2_recall"]) == (1.0, 0.5)
    assert m["macro_precision"] == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)
    assert m["macro_recall"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    f1 = [0.5, 2 * (2 / 3) / (2 / 3 + 1), 2 * 0.5 / 1.5]
    assert m["macro_f1"] == pytest.approx(np.mean(f1))
    assert m["classes"] == 3 and m["examples"] == 6
    assert task_metrics("multiclass", labels, probabilities) == m


def test_multiclass_metrics_leave_undefined_classes_out_of_the_macro_means():
    m = multiclass_metrics(np.array([0, 0, 1]), np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1]]))
    assert m["class_2_precision"] is None and m["class_2_recall"] is None and m["class_2_examples"] == 0
    assert m["macro_precision"] == 1.0 and m["macro_f1"] == 1.0
    with pytest.raises(ValueError, match=r"shape \[3, classes\]"):
        multiclass_metrics(np.array([0, 1, 2]), np.array([0.2, 0.3, 0.5]))


def test_regression_metrics():
    m = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 2.0, 4.0]))
    assert m["rmse"] == pytest.approx(np.sqrt((0.25 + 1.0) / 4))
    assert m["mae"] == pytest.approx(1.5 / 4)
    assert m["r2"] == pytest.approx(1 - 1.25 / 5.0)
    assert m["label_mean"] == 2.5 and m["examples"] == 4
    assert regression_metrics(np.array([2.0, 2.0]), np.array([2.0, 1.0]))["r2"] is None


def test_each_task_has_its_objective_and_refuses_another_tasks():
    assert [default_objective(t) for t in ("binary", "multiclass", "regression")] == ["log_loss", "log_loss", "rmse"]
    assert check_objective("macro_f1", "multiclass", "Tuner: objective") == "macro_f1"
    with pytest.raises(ConfigError, match="Tuner: objective: a regression task has no metric 'log_loss'"):
        check_objective("log_loss", "regression", "Tuner: objective")
    with pytest.raises(ConfigError, match="a binary task has no metric 'rmse'"):
        check_objective("rmse", "binary", "Evaluator: objective")


def test_the_components_resolve_the_tasks_objective():
    from components.evaluator import Params as EvaluatorParams
    from components.tuner.component import Params as TunerParams

    assert TunerParams(search_space="m:s", model_fn="m:f", label="y", task="regression").objective == "rmse"
    assert TunerParams(search_space="m:s", model_fn="m:f", label="y").objective == "log_loss"
    evaluator = EvaluatorParams(label="y", task="regression", floor={"r2": 0.5}, min_accuracy=0.9)
    assert (evaluator.choose_by, evaluator.objective) == ("rmse", "rmse")
    assert evaluator.rules().floor == {"r2": 0.5}  # no accuracy floor on a regression
    assert EvaluatorParams(label="y", min_accuracy=0.8).rules().floor == {"accuracy": 0.8}
    with pytest.raises(ConfigError, match="Tuner: task: 'ranking' is not one of"):
        TunerParams(search_space="m:s", model_fn="m:f", label="y", task="ranking")


@pytest.mark.parametrize(
    "values, found",
    [
        (np.array([0, 1, 1, 0]), "has 2 classes (0, 1) in the train split"),
        (np.array([0.5, 1.5, 2.0]), "distinct numeric values"),
        (np.array([1, 2, 3]), "classes coded from 1 to 3, not 0..2"),
        (np.array([0, 1, 3]), "classes coded from 0 to 3, not 0..2"),
        (np.array([b"a", b"b", b"c"]), "reaches the model as text"),
    ],
    ids=["two_classes", "real_valued", "from_one", "gap", "text"],
)
def test_a_label_that_does_not_fit_a_multiclass_task_is_refused(values, found):
    with pytest.raises(LabelDoesNotFitTask) as raised:
        check_label(values, "species", task="multiclass")
    assert str(raised.value).startswith("label 'species' ") and found in str(raised.value)


def test_labels_that_fit_multiclass_and_regression():
    check_label(np.array([2, 0, 1, 1]), "species", task="multiclass")
    check_label(np.linspace(0.5, 998.1, 1234), "fare", task="regression")
    check_label(np.array([0, 1]), "fare", task="regression")  # a numeric label, even of two values
    with pytest.raises(LabelDoesNotFitTask, match="label 'fare' has a single value"):
        check_label(np.array([3.0, 3.0]), "fare", task="regression")
    with pytest.raises(LabelDoesNotFitTask, match="reaches the model as text"):
        check_label(np.array([b"1.5", b"2"]), "fare", task="regression")
    with pytest.raises(LabelDoesNotFitTask, match="a binary task needs exactly 2 classes"):
        check_label(np.array([0, 1, 2]), "species")


FEATURES = dict(numeric=("x",), categorical={"c": 4}, label="y")


@pytest.mark.parametrize(
    "task, extra, width",
    [("binary", {}, 1), ("multiclass", {"classes": 3}, 3), ("regression", {"label_mean": 100.0, "label_std": 10.0}, 1)],
)
def test_every_network_family_and_baseline_ends_in_the_tasks_head(task, extra, width):
    import keras

    from sluice.modeling import baselines, families
    from sluice.modeling.fitting import as_predictions
    from sluice.modeling.features import ModelFeatures

    features = ModelFeatures(**FEATURES, task=task, **extra)
    batch = {"x": np.array([0.1, -0.3, 2.0], dtype=np.float32), "c": np.array([0, 3, 1])}
    built = {
        "linear": families.linear(features),
        "dnn": families.dnn(features, units=8, layers=1),
        "wide_deep": families.wide_deep(features, wide=["c"], units=8, layers=1),
        "constant": baselines.constant({}, features, 0),
    }
    for name, model in built.items():
        predicted = as_predictions(model(batch, training=False))
        assert predicted.shape == ((3, width) if width > 1 else (3,)), name
        if task == "multiclass":
            np.testing.assert_allclose(predicted.sum(axis=1), 1.0, rtol=1e-5)
        elif task == "binary":
            assert np.all((predicted > 0) & (predicted < 1)), name
    loss = {"binary": "binary_crossentropy", "multiclass": "sparse_categorical_crossentropy", "regression": "mean_squared_error"}
    assert all(model.loss == loss[task] for model in built.values())
    if task == "regression":  # the constant model starts at the training mean, in the label's units
        np.testing.assert_allclose(as_predictions(built["constant"](batch, training=False)), 100.0)
    keras.backend.clear_session()


def test_forests_take_the_tasks_kind():
    import tensorflow_decision_forests as tfdf

    from sluice.modeling import families
    from sluice.modeling.features import ModelFeatures

    regression = families.random_forest(ModelFeatures(**FEATURES, task="regression"), num_trees=5)
    classification = families.gradient_boosted_trees(ModelFeatures(**FEATURES, task="multiclass", classes=3), num_trees=5)
    assert regression.task == tfdf.keras.Task.REGRESSION and classification.task == tfdf.keras.Task.CLASSIFICATION
