"""Evaluator: judges the run's model against the one it would replace, overall and per slice.

1. Choice. Each exported model (the best trial's, and the ensemble when the Trainer made
   one) is scored on Transform's `choose_on` split; the better by `choose_by` is the
   candidate. The held-out split only reports, so the choice never looks at the data
   that judges it.
2. Held-out scoring. The held-out `split` is read RAW, as ExampleGen wrote it, and every
   exported model and the currently served version (the highest version under
   `serving_dir`) score the same serialized tf.Examples through their `serving_default`
   signature, batch by batch in one pass. Raw rows are what slices are cut on, and what a
   served model exported by an earlier run (with its own, older transform graph) takes.
3. Metrics follow the task (`sluice.modeling.metrics.TASK_METRICS`), overall and per slice
   of the configured raw features, each slice with its row count.
4. Blessing (`sluice.modeling.blessing`): floor, objective against the served model
   within a tolerance, and no slice worse beyond its own tolerance. The Pusher pushes only
   a blessed model.

Writes `metrics.json` (the candidate's metrics overall, per slice and calibration bins;
the served model's on the same rows; the blessing) and `report.html`.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from components.example_gen.artifact import Examples
from components.compact_export import CompactModels
from components.trainer import Model
from sluice.artifacts import Artifact, ArtifactDraft, ArtifactProperties
from sluice.config import ConfigError
from sluice.contract import ComponentSpec
from sluice.errors import SluiceError
from sluice.modeling.blessing import Blessing, BlessingRules, decide
from sluice.modeling.metrics import best_first, calibration_bins, check_objective, default_objective, task_metrics
from sluice.modeling.slicing import SliceSpec, slice_metrics
from sluice.modeling.transform_graph import TransformGraph

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
_SHOWN = ("accuracy", "auc", "log_loss", "precision", "recall", "expected_calibration_error", "macro_f1", "rmse", "mae", "r2")


class EvaluationError(SluiceError):
    """Rows the Evaluator cannot judge: a missing label, a served model that does not load."""


@dataclasses.dataclass(frozen=True)
class Params:
    """Evaluator's parameters.

    Args:
        label: the label's name (raw and transformed).
        positive_label: the raw label value of the positive class of a binary task (None:
            the label is what the Transform's preprocessing_fn makes of each raw row, which
            also covers a label derived from other columns, or classes coded by a vocabulary).
        split: the held-out split to score (never seen by Transform's analysis or training).
        batch_size: examples per scoring batch.
        choose_on: the split on which the exported models are compared.
        choose_by: the metric the exported models are compared by, e.g. "log_loss" (lower
            wins), "accuracy" or "auc" (higher wins); None: the task's usual objective.
        task: the prediction task: "binary", "multiclass" or "regression".
        slices: raw features to slice by (`SliceSpec` fields: feature, buckets, tolerance).
        serving_dir: the model's serving directory; its highest version is the served model.
        objective: the metric compared with the served model (the pipeline's objective;
            None: the task's usual one, "log_loss" or "rmse").
        objective_tolerance: how much worse than the served model the candidate may be.
        min_accuracy: the absolute floor of a classification's accuracy.
        floor: more absolute floors, metric -> bound (at most, for a metric minimised),
            e.g. {"r2": 0.5} for a regression.
        min_slice_rows: smaller slices are reported, not judged.
    """

    label: str
    positive_label: str | int | None = None
    split: str = "test"
    batch_size: int = 1024
    choose_on: str = "eval"
    choose_by: str | None = None
    task: str = "binary"
    slices: Sequence[Mapping[str, Any]] = ()
    serving_dir: str | None = None
    objective: str | None = None
    objective_tolerance: float = 0.01
    min_accuracy: float = 0.0
    min_slice_rows: int = 100
    floor: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        from sluice.modeling.tasks import check_task

        check_task(self.task, "Evaluator: task")
        for setting in ("choose_by", "objective"):
            if getattr(self, setting) is None:
                object.__setattr__(self, setting, default_objective(self.task))
            check_objective(getattr(self, setting), self.task, f"Evaluator: {setting}")
        for metric in self.floor:
            check_objective(metric, self.task, "Evaluator: floor")
        try:
            self.slice_specs()
            self.rules()
        except ValueError as error:  # pydantic's, naming the field
            raise ConfigError(f"Evaluator: {error}") from None

    def slice_specs(self) -> list[SliceSpec]:
        return [SliceSpec(**spec) for spec in self.slices]

    def rules(self) -> BlessingRules:
        return BlessingRules(
            objective=self.objective,
            objective_tolerance=self.objective_tolerance,
            floor={**({"accuracy": self.min_accuracy} if self.task != "regression" else {}), **self.floor},
            slice_tolerances={spec.feature: spec.tolerance for spec in self.slice_specs()},
            min_slice_rows=self.min_slice_rows,
        )


class ModelEvaluation(ArtifactProperties):
    """An Evaluator artifact: the candidate, its metrics on the held-out split, and its blessing.

    Args:
        split: the held-out split scored; metrics: the candidate's overall metrics on it
            (per slice in metrics.json).
        chosen: which exported model is the candidate ("single" or "ensemble").
        chosen_model: its SavedModel directory, relative to the Trainer's artifact.
        chosen_by: "<metric> on <split>".
        candidates: each exported model's directory and metrics on both splits.
        blessed: whether the Pusher may push it; blessing: the decision, both models'
            numbers, every check and the reason.
        report: the HTML report, relative to the artifact.
    """

    split: str
    metrics: dict[str, float | int | None]
    chosen: str
    chosen_model: str
    chosen_by: str
    candidates: dict[str, dict[str, Any]]
    blessed: bool
    blessing: Blessing
    report: str = REPORT_FILE

    @property
    def accuracy(self) -> float | None:
        """The candidate's accuracy (None for a regression)."""
        return self.metrics.get("accuracy")


def load_metrics(evaluation: Artifact) -> dict:
    """metrics.json: overall, calibration, slices, served and blessing."""
    with open(evaluation.file(METRICS_FILE)) as handle:
        return json.load(handle)


def _shown(metrics: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={metrics[k]:.4f}" for k in _SHOWN if isinstance(metrics.get(k), float))


def summary(evaluation: Artifact) -> str:
    """The candidate's metrics on the held-out split, why it was chosen, and its blessing."""
    recorded = ModelEvaluation.of(evaluation)
    metrics, blessing = recorded.metrics, recorded.blessing
    text = f"Test metrics ({metrics['examples']} examples): {_shown(metrics)}"
    if len(recorded.candidates) > 1:
        text += f"\nModel kept: {recorded.chosen} (of {', '.join(recorded.candidates)}; by {recorded.chosen_by})"
    if blessing.served is not None:
        text += f"\nServed version {blessing.served_version}, same rows: {_shown(blessing.served)}"
    text += f"\nBlessing: {blessing.reason}"
    text += f"\nEvaluation report: {evaluation.file(recorded.report)}"
    return text


def score_split(model_dir: str, transform: Artifact, split: str, label: str, batch_size: int):
    """(labels, predictions) of one transformed split, through the SavedModel's model alone."""
    from sluice.modeling.export import load_serving_model

    return _score_transformed(load_serving_model(model_dir), transform, split, label, batch_size)


def _score_transformed(saved_model, transform: Artifact, split: str, label: str, batch_size: int):
    from sluice.modeling.datasets import split_dataset
    from sluice.modeling.export import predict_transformed

    labels, probabilities = [], []
    for features, target in split_dataset(transform, split, label, batch_size):
        probabilities.append(predict_transformed(saved_model, features))
        labels.append(target.numpy())
    return np.concatenate(labels), np.concatenate(probabilities)


def load_models(model_dirs: Mapping[str, str]) -> dict[str, Any]:
    """Each SavedModel loaded once (name -> model); a load error names the model."""
    from sluice.modeling.export import load_serving_model

    loaded = {}
    for name, model_dir in model_dirs.items():
        try:
            loaded[name] = load_serving_model(model_dir)
        except Exception as error:  # a served version this process cannot load (its ops, its files): say which
            raise EvaluationError(f"Evaluator: cannot load the {name} model {model_dir}: {error}") from error
    return loaded


def _feature_value(example, name: str):
    feature = example.features.feature.get(name)
    if feature is None:
        return None
    values = feature.bytes_list.value or feature.int64_list.value or feature.float_list.value
    if not values:
        return None
    value = values[0]
    return value.decode("utf-8") if isinstance(value, bytes) else value


def score_raw_split(
    examples: Artifact,
    split: str,
    models: Mapping[str, Any],
    label: str,
    positive_label,
    features: Sequence[str],
    batch_size: int,
    transform: Artifact | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, list]]:
    """One pass over a split's raw tf.Examples: (labels, {model: predictions}, {feature: raw values}).

    Every model in `models` (name -> loaded SavedModel) scores the same serialized rows
    through its `serving_default` signature (the label is in the rows; the signature's
    parser ignores it). Each row's label is its raw label compared with `positive_label`
    when one is given; otherwise what `transform`'s graph makes of the raw row.
    """
    import tensorflow as tf

    from sluice.modeling.export import predict_raw

    pattern = examples.file(Examples.of(examples).splits[split].pattern)
    files = sorted(glob.glob(pattern))
    if not files:
        raise EvaluationError(f"Evaluator: no {split!r} examples at {pattern}")
    transformed_labels = _transformed_labels(transform, label, split) if positive_label is None and transform is not None else None
    labels, raw = [], {name: [] for name in features}
    probabilities = {name: [] for name in models}
    for batch in tf.data.TFRecordDataset(files).batch(batch_size).as_numpy_iterator():
        for serialized in batch:
            example = tf.train.Example.FromString(serialized)
            if transformed_labels is None:
                value = _feature_value(example, label)
                if value is None:
                    raise EvaluationError(f"Evaluator: a {split!r} row has no label {label!r}")
                labels.append(int(value == positive_label) if positive_label is not None else int(value))
            for name in features:
                raw[name].append(_feature_value(example, name))
        if transformed_labels is not None:
            labels.extend(transformed_labels(batch))
        for name, model in models.items():
            probabilities[name].append(predict_raw(model, batch))
    return np.array(labels), {name: np.concatenate(p) for name, p in probabilities.items()}, raw


def _transformed_labels(transform: Artifact, label: str, split: str):
    """A function: a batch of serialized raw rows -> their labels as the Transform computes them."""
    import tensorflow as tf

    from sluice.modeling.datasets import transform_output

    tft_output = transform_output(transform)
    layer = tft_output.transform_features_layer()
    spec = tft_output.raw_feature_spec()

    def labels(batch) -> list:
        try:
            transformed = layer(tf.io.parse_example(tf.constant(batch), spec))
        except tf.errors.InvalidArgumentError as error:
            raise EvaluationError(f"Evaluator: {split!r} rows lack what the label {label!r} is computed from: {error.message}") from None
        if label not in transformed:
            raise EvaluationError(f"Evaluator: the preprocessing_fn makes no {label!r} of the {split!r} rows")
        return np.asarray(transformed[label]).reshape(-1).tolist()

    return labels


def _scored(params: Params, labels: np.ndarray, predictions: np.ndarray, raw: Mapping[str, list]) -> dict[str, Any]:
    return {
        "overall": task_metrics(params.task, labels, predictions),
        "calibration": calibration_bins(labels, predictions) if params.task == "binary" else None,
        "slices": slice_metrics(params.task, labels, predictions, raw, params.slice_specs()),
    }


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    from sluice.modeling.evaluation_report import render
    from sluice.serving.versions import served_version

    trainer, transform, examples = inputs["model"], inputs["transform"], inputs["examples"]
    exported = Model.of(trainer).exported()
    served = served_version(params.serving_dir) if params.serving_dir else None
    model_dirs = {name: trainer.file(d) for name, d in exported.items()}
    if served is not None:
        model_dirs["served"] = str(Path(params.serving_dir) / str(served))
    models = load_models(model_dirs)
    on_choice_split = {
        name: task_metrics(params.task, *_score_transformed(models[name], transform, params.choose_on, params.label, params.batch_size))
        for name in exported
    }
    chosen = best_first(exported, params.choose_by, lambda name: on_choice_split[name][params.choose_by])[0]

    features = [spec.feature for spec in params.slice_specs()]
    labels, predictions, raw = score_raw_split(
        examples, params.split, models, params.label, params.positive_label, features, params.batch_size, transform
    )

    candidate = _scored(params, labels, predictions[chosen], raw)
    served_scores = {"version": served, **_scored(params, labels, predictions["served"], raw)} if served is not None else None
    blessing = decide(
        params.rules(),
        candidate["overall"],
        served_scores["overall"] if served_scores else None,
        candidate["slices"],
        served_scores["slices"] if served_scores else None,
        served,
    )
    candidates = {
        name: {
            "model": d,
            params.choose_on: on_choice_split[name],
            params.split: candidate["overall"] if name == chosen else task_metrics(params.task, labels, predictions[name]),
        }
        for name, d in exported.items()
    }
    chosen_by = f"{params.choose_by} on {params.choose_on}"
    doc = {
        "task": params.task,
        "split": params.split,
        "model": chosen,
        "chosen_by": chosen_by,
        **candidate,
        "served": served_scores,
        "blessing": blessing.model_dump(),
    }
    with open(output.file(METRICS_FILE), "w") as handle:
        json.dump(doc, handle, indent=2, sort_keys=True)
    with open(output.file(REPORT_FILE), "w") as handle:
        handle.write(render(doc, params.objective, params.min_slice_rows, compact_forms=_compact_table(inputs.get("compact"))))
    ModelEvaluation(
        split=params.split,
        metrics=candidate["overall"],
        chosen=chosen,
        chosen_model=exported[chosen],
        chosen_by=chosen_by,
        candidates=candidates,
        blessed=blessing.blessed,
        blessing=blessing,
    ).write(output)


def _compact_table(compact: Artifact | None) -> str | None:
    """CompactExport's table of TFLite forms (an HTML section), when the pipeline has one."""
    from components.compact_export import TABLE_HTML

    if compact is None or not os.path.exists(compact.file(TABLE_HTML)):
        return None
    with open(compact.file(TABLE_HTML)) as handle:
        return handle.read()


SPEC = ComponentSpec(
    run=run,
    params=Params,
    output=ModelEvaluation,
    inputs={"model": Model, "transform": TransformGraph, "examples": Examples, "compact": CompactModels},
    optional={"compact"},
    summary=summary,
)
