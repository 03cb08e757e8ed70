"""A pipeline as a short declaration: its data, label, task and the parts it writes itself.

The standard chain of components (ExampleGen to Pusher) lives here, beside the
components it names (the core, sluice/, never names a component).

A pipeline module (`<pipelines dir>/<name>/pipeline.py`, see `sluice.registry`) declares

    PIPELINE = Declaration(
        name="taxi", label="tip", columns={"fare": "float", "company": "string", "tip": "int"},
        data={"train_file": "data/taxi.csv"},
        preprocessing_fn=f"{__package__}.preprocessing:preprocessing_fn",
    )

and the framework does the rest: the settings (`Config`, `sluice.standard_config`, with
the declaration's defaults), the standard components wired by artifact
(`create_pipeline`), and what the CLI and the DAG need of a pipeline (`contract`).
"""

from __future__ import annotations

import dataclasses
import functools
import types
from typing import Any, Callable, Mapping, Sequence

from sluice.data.rows import CsvFormat
from sluice.pipeline import Component, Pipeline
from sluice.standard_config import StandardConfig, config_class
from sluice.spans import example_sources

TASKS = ("binary", "multiclass", "regression")
STANDARD_MODEL = "sluice.standard_model"


def dotted(target: Callable | str) -> str:
    """"module:name" of a function (or the string itself): how a component finds it in any process."""
    if isinstance(target, str):
        return target
    return f"{target.__module__}:{target.__qualname__}"


@dataclasses.dataclass(frozen=True)
class Declaration:
    """What a pipeline says about itself; everything else is the framework's.

    Args:
        name: the pipeline's name (its artifact and serving directories, its DAG's id).
        label: the label column (or a column `preprocessing_fn` derives it into).
        columns: the CSV's columns and their types ("int", "float", "string"), a dict or
            (name, type) pairs; in file order when the file has no header.
        preprocessing_fn: the Transform function, "module:function" (or the function itself,
            though importing it imports TensorFlow wherever the pipeline is read).
        data: defaults of the `data` settings: train_file, test_file (CSV, or Parquet by
            the .parquet extension), eval_percent, split ("hash", "stratified" or "time"
            with split_time_column), ...
        task: "binary", "multiclass" or "regression".
        positive_label: the raw label value of the positive class of a binary task.
        csv: the rest of the CSV format (`sluice.data.rows.CsvFormat`): header (default
            True), delimiter, comment_prefix, missing_values, strip_suffixes.
        search_space, model_fn: the Tuner's space and the model of one point of it
            (default: `sluice.standard_model`, every family over every feature).
        settings: defaults of the other settings, {section: {field: value}} or {field: value},
            e.g. {"tuner": {"max_trials": 10}, "min_accuracy": 0.8}.
        reviewed_schema: the reviewed schema.pbtxt (used when the file exists).
        extra_components: (config) -> components run after the standard ones.
        doc: what the pipeline is, for the DAG's page.
    """

    name: str
    label: str
    columns: Mapping[str, str] | Sequence[Sequence[str]]
    preprocessing_fn: Callable | str
    data: Mapping[str, Any]
    task: str = "binary"
    positive_label: str | int | None = None
    csv: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    search_space: Callable | str = f"{STANDARD_MODEL}:search_space"
    model_fn: Callable | str = f"{STANDARD_MODEL}:build_model"
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    reviewed_schema: str | None = None
    extra_components: Callable[[StandardConfig], Sequence[Component]] | None = None
    doc: str = ""

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"pipeline {self.name!r}: task {self.task!r} is not one of {TASKS}")
        self.csv_format()  # a bad format fails when the pipeline is declared

    def csv_format(self) -> dict[str, Any]:
        """The CsvFormat of the data as JSON-friendly dict (ExampleGen's `format` parameter)."""
        pairs = self.columns.items() if isinstance(self.columns, Mapping) else self.columns
        fmt = {"columns": [[name, kind] for name, kind in pairs], "header": True, **self.csv}
        CsvFormat(**fmt)
        return fmt

    @functools.cached_property
    def config(self) -> type[StandardConfig]:
        """The settings class, with this declaration's defaults."""
        class_name = "".join(part.title() for part in self.name.replace("-", "_").split("_")) + "Config"
        reviewed = {"reviewed_schema": self.reviewed_schema or ""}
        return config_class(class_name, {"data": dict(self.data), **reviewed, **self.settings})

    def sample_rows_file(self, config: StandardConfig) -> str:
        """Raw rows for showing a served prediction: the test file, else the train file."""
        return config.data.test_file or config.data.train_file

    def create_pipeline(self, config: StandardConfig) -> Pipeline:
        """The standard components wired by artifact, then the declaration's extra ones."""
        extra = tuple(self.extra_components(config)) if self.extra_components else ()
        return Pipeline(self.name, (*standard_components(self, config), *extra))

    def contract(self) -> types.SimpleNamespace:
        """What the CLI and the DAG read of a pipeline module (see `sluice.registry`)."""
        return types.SimpleNamespace(
            NAME=self.name,
            LABEL_KEY=self.label,
            POSITIVE_LABEL=self.positive_label,
            TASK=self.task,
            CSV_FORMAT=self.csv_format(),
            Config=self.config,
            create_pipeline=self.create_pipeline,
            sample_rows_file=self.sample_rows_file,
            __doc__=self.doc,
        )


def _accepted(spec: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` less those the component's Params do not declare (e.g. `task`, where a
    component handles one task only)."""
    from sluice.pipeline import load_object

    fields = {field.name for field in dataclasses.fields(load_object(spec).params)}
    return {key: value for key, value in params.items() if key in fields}


def _example_sources(config: StandardConfig) -> list[dict]:
    data = config.data
    train_splits, test_splits = data.split_percentages()
    sources = example_sources(data.train_file, train_splits, config.spans, data.rolling_spans)
    if test_splits is not None:
        sources = [*sources, *example_sources(data.test_file, test_splits, config.spans)]
    return sources


def _split_params(declaration: Declaration, config: StandardConfig) -> dict[str, Any]:
    data = config.data
    params: dict[str, Any] = {}
    if data.split_key is not None:
        params["split_key"] = data.split_key
    if data.split == "stratified":
        params["stratify_by"] = declaration.label
    if data.split == "time":
        params["time_column"] = data.split_time_column
    return params


def _warn_only(config: StandardConfig) -> list[str]:
    """`validation.warn_only`, and the time column of a split by time: eval and test rows
    come after every train row by design, so its shift between splits is no finding."""
    warn_only = list(config.validation.warn_only)
    if config.data.split == "time" and config.data.split_time_column not in warn_only:
        warn_only.append(config.data.split_time_column)
    return warn_only


def standard_components(declaration: Declaration, config: StandardConfig) -> tuple[Component, ...]:
    """ExampleGen to Pusher, as every declared pipeline runs them."""
    name, label, task = declaration.name, declaration.label, declaration.task
    model_fn = dotted(declaration.model_fn)
    serving_dir = f"{config.serving_root}/{name}"
    tuner_spec, trainer_spec, evaluator_spec = "components.tuner.component:SPEC", "components.trainer:SPEC", "components.evaluator:SPEC"
    return (
        Component(
            "example_gen",
            "components.example_gen.component:SPEC",
            params={
                "sources": _example_sources(config),
                "format": declaration.csv_format(),
                "max_reject_fraction": config.data.max_reject_fraction,
                "label": label,
                **_split_params(declaration, config),
            },
        ),
        Component("statistics_gen", "components.statistics_gen:SPEC", {"examples": "example_gen"}),
        Component(
            "schema_gen",
            "components.schema_gen:SPEC",
            {"statistics": "statistics_gen"},
            {
                "reviewed_schema": config.reviewed_schema or None,
                "label": label,
                "unseen_category_share": config.validation.unseen_category_share,
            },
        ),
        Component(
            "example_validator",
            "components.example_validator:SPEC",
            {"statistics": "statistics_gen", "schema": "schema_gen", "examples": "example_gen"},
            {
                "splits": ["eval", "test"],
                "drift_split": "train" if config.validation.drift else None,
                "warn_only": _warn_only(config),
            },
        ),
        Component(
            "skew_validator",  # needs only statistics: before the search, not after it
            "components.example_validator:SPEC",
            {"statistics": "statistics_gen", "schema": "schema_gen"},
            {
                "splits": [],
                "skew_training_split": "train" if config.validation.skew else None,
                "skew_serving_split": "test" if config.validation.skew else None,
                "warn_only": _warn_only(config),
            },
        ),
        Component(
            "transform",
            "components.transform.component:SPEC",
            {"examples": "example_gen", "schema": "schema_gen", "statistics": "statistics_gen"},
            {"preprocessing_fn": dotted(declaration.preprocessing_fn), "analyzer_cache": config.transform.analyzer_cache},
            after=("example_validator",),  # its gate: no transform of rows that failed validation
        ),
        Component(
            "tuner",
            tuner_spec,
            {"transform": "transform"},
            _accepted(tuner_spec, {
                "search_space": dotted(declaration.search_space),
                "families": config.tuner.searched_families(),
                "model_fn": model_fn,
                "label": label,
                "task": task,
                "oracle": config.tuner.oracle,
                "max_trials": config.tuner.max_trials,
                "max_minutes": config.tuner.max_minutes,
                "trial_steps": config.tuner.trial_steps,
                # A trial's network trains and stops as the Trainer's will (batches, evaluations, patience).
                "batch_size": config.trainer.batch_size,
                "eval_every_steps": config.trainer.eval_every_steps,
                "early_stopping_patience": config.trainer.early_stopping_patience,
                "objective": config.tuner.objective,
                "folds": config.tuner.folds,
                "defaults_first": config.tuner.defaults_first,
                "workers": config.tuner.workers,
                "seed": config.seed,
            }),
        ),
        Component(
            "trainer",
            trainer_spec,
            {"transform": "transform", "hyperparameters": "tuner"},
            _accepted(trainer_spec, {
                "model_fn": model_fn,
                "label": label,
                "task": task,
                "train_steps": config.trainer.train_steps,
                "batch_size": config.trainer.batch_size,
                "eval_every_steps": config.trainer.eval_every_steps,
                "early_stopping_patience": config.trainer.early_stopping_patience,
                "ensemble_size": config.trainer.ensemble_size,
                "seed": config.seed,
            }),
        ),
        Component(
            "compact_export",
            "components.compact_export:SPEC",
            {"model": "trainer", "transform": "transform"},
            {"label": label, "task": task, "enabled": config.compact_export.enabled, "latency_calls": config.compact_export.latency_calls},
        ),
        Component(
            "evaluator",
            evaluator_spec,
            {"model": "trainer", "transform": "transform", "examples": "example_gen", "compact": "compact_export"},
            _accepted(evaluator_spec, {
                "label": label,
                "positive_label": declaration.positive_label,
                "task": task,
                "choose_by": config.tuner.objective,
                "slices": [spec.model_dump() for spec in config.evaluator.slices],
                "serving_dir": serving_dir,
                "objective": config.tuner.objective,
                "objective_tolerance": config.evaluator.objective_tolerance,
                "min_accuracy": config.min_accuracy,
                "min_slice_rows": config.evaluator.min_slice_rows,
            }),
        ),
        Component(
            "pusher",
            "components.pusher:SPEC",
            {"model": "trainer", "evaluation": "evaluator"},
            {"serving_dir": serving_dir, "pipeline": name, "keep_versions": config.pusher.keep_versions},
            after=("skew_validator",),  # its gate: no push of a model whose serving data is skewed
        ),
    )
