"""The census pipeline: raw UCI Adult CSV to a pushed SavedModel.

`create_pipeline` is the one definition both `sluice run census` and `dags/census.py`
run. Defaults are embedded; any setting can be overridden (`-o trainer.train_steps=500`).
"""

from __future__ import annotations

from pathlib import Path

import pydantic

from pipelines.census.features import CSV_COLUMNS, LABEL_KEY, POSITIVE_LABEL  # noqa: F401 (part of the pipeline's interface)
from sluice.config import PROJECT_ROOT, PipelineConfig
from sluice.modeling.families import stock_serving_families
from sluice.modeling.metrics import objective_direction
from sluice.modeling.slicing import SliceSpec
from sluice.pipeline import Component, Pipeline
from sluice.spans import example_sources

NAME = "census"
DATA_DIR = PROJECT_ROOT / "data" / "census"
# adult.data/adult.test: no header, '?' for unknown, a comment first line and "<=50K." labels in adult.test.
CSV_FORMAT = {
    "columns": [[name, kind] for name, kind in CSV_COLUMNS.items()],  # a list: the order is the file's
    "comment_prefix": "|",
    "missing_values": ["?"],
    "strip_suffixes": {LABEL_KEY: "."},
}


class Section(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class DataConfig(Section):
    # Either may be a pattern of spans, e.g. /data/census/{YYYY}-{MM}-{DD}/*.csv (sluice.spans).
    train_file: str = str(DATA_DIR / "adult.data.gz")
    test_file: str = str(DATA_DIR / "adult.test.gz")
    rolling_spans: int = pydantic.Field(1, ge=1)  # train on the chosen span and the ones before it
    eval_percent: int = pydantic.Field(10, ge=1, le=99)
    max_reject_fraction: float = pydantic.Field(0.0, ge=0, le=1)

    @pydantic.field_validator("train_file", "test_file")
    @classmethod
    def _absolute(cls, path: str) -> str:
        # Components may run in another working directory (an Airflow worker, a child process).
        return path if "://" in path else str(Path(path).resolve())


class ValidationConfig(Section):
    drift: bool = True
    skew: bool = True
    warn_only: list[str] = []
    # Used by an inferred schema (a reviewed one keeps its own min_domain_mass per feature).
    unseen_category_share: float = pydantic.Field(0.01, ge=0, le=1)


class TransformConfig(Section):
    # One span (adult.data): the cache's extra Beam stages would cost more than they save.
    analyzer_cache: bool = False


class TunerConfig(Section):
    oracle: str = pydantic.Field("random", pattern="^(random|bayesian|hyperband)$")
    # The default search is the demo's: four trials over the forests, which train in one pass
    # (the Trainer reuses them) and lead on census. Every family: `-o tuner.families=null`.
    max_trials: int = pydantic.Field(4, ge=0)
    max_minutes: float | None = pydantic.Field(None, gt=0)
    trial_steps: int = pydantic.Field(300, ge=1)
    objective: str = "log_loss"
    folds: int = pydantic.Field(1, ge=1)
    workers: int = pydantic.Field(1, ge=1)
    # The families searched (None: every family of the space).
    families: list[str] | None = ["gradient_boosted_trees", "random_forest"]
    # Only families a stock TensorFlow / TF Serving loads (no TensorFlow Decision Forests ops).
    stock_serving_only: bool = False

    def searched_families(self) -> list[str] | None:
        """`families`, less those a stock TF Serving cannot load when `stock_serving_only`."""
        if not self.stock_serving_only:
            return self.families
        stock = stock_serving_families()
        return stock if self.families is None else [family for family in self.families if family in stock]

    @pydantic.field_validator("objective")
    @classmethod
    def _known_metric(cls, objective: str) -> str:
        objective_direction(objective, "tuner.objective")
        return objective


class TrainerConfig(Section):
    train_steps: int = pydantic.Field(2000, ge=1)
    batch_size: int = pydantic.Field(256, ge=1)
    eval_every_steps: int = pydantic.Field(200, ge=1)
    early_stopping_patience: int = pydantic.Field(3, ge=0)
    ensemble_size: int = pydantic.Field(3, ge=1)


class EvaluatorConfig(Section):
    """How a candidate is judged against the served model (`sluice.modeling.blessing`).

    The objective is `tuner.objective`; tolerances are in its units (log loss by default).
    """

    objective_tolerance: float = pydantic.Field(0.01, ge=0)
    min_slice_rows: int = pydantic.Field(200, ge=1)
    slices: list[SliceSpec] = [
        SliceSpec(feature="sex", tolerance=0.05),
        SliceSpec(feature="race", tolerance=0.05),
        SliceSpec(feature="education", tolerance=0.05),
        SliceSpec(feature="age", buckets=[25, 35, 45, 55, 65], tolerance=0.05),
    ]


class PusherConfig(Section):
    keep_versions: int = pydantic.Field(5, ge=1)


class CompactExportConfig(Section):
    # TFLite float16/int8 forms of each exported Keras model part, measured beside the SavedModel.
    # Off, the component stays in the pipeline (and the Airflow DAG) and records that it was off.
    enabled: bool = True
    latency_calls: int = pydantic.Field(200, ge=1)


class CensusConfig(PipelineConfig):
    data: DataConfig = DataConfig()
    validation: ValidationConfig = ValidationConfig()
    transform: TransformConfig = TransformConfig()
    tuner: TunerConfig = TunerConfig()
    trainer: TrainerConfig = TrainerConfig()
    evaluator: EvaluatorConfig = EvaluatorConfig()
    pusher: PusherConfig = PusherConfig()
    compact_export: CompactExportConfig = CompactExportConfig()
    reviewed_schema: str = str(PROJECT_ROOT / "schemas" / NAME / "schema.pbtxt")
    min_accuracy: float = pydantic.Field(0.84, ge=0, le=1)  # the blessing's absolute floor
    seed: int = 42


Config = CensusConfig


def sample_rows_file(config: CensusConfig) -> str:
    """Raw rows never used in training, for showing a served prediction."""
    return config.data.test_file


def create_pipeline(config: CensusConfig) -> Pipeline:
    """The census components, wired by artifact."""
    model_fn = "pipelines.census.model:build_model"
    serving_dir = str(Path(config.serving_root) / NAME)
    return Pipeline(
        NAME,
        (
            Component(
                "example_gen",
                "components.example_gen.component:SPEC",
                params={
                    "sources": [
                        *example_sources(
                            config.data.train_file,
                            {"train": 100 - config.data.eval_percent, "eval": config.data.eval_percent},
                            config.spans,
                            config.data.rolling_spans,
                        ),
                        *example_sources(config.data.test_file, {"test": 100}, config.spans),
                    ],
                    "format": CSV_FORMAT,
                    "max_reject_fraction": config.data.max_reject_fraction,
                },
            ),
            Component("statistics_gen", "components.statistics_gen:SPEC", {"examples": "example_gen"}),
            Component(
                "schema_gen",
                "components.schema_gen:SPEC",
                {"statistics": "statistics_gen"},
                {
                    "reviewed_schema": config.reviewed_schema,
                    "label": LABEL_KEY,
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
                    "warn_only": config.validation.warn_only,
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
                    "warn_only": config.validation.warn_only,
                },
            ),
            Component(
                "transform",
                "components.transform.component:SPEC",
                {"examples": "example_gen", "schema": "schema_gen", "statistics": "statistics_gen"},
                {"preprocessing_fn": "pipelines.census.preprocessing:preprocessing_fn", "analyzer_cache": config.transform.analyzer_cache},
                after=("example_validator",),  # its gate: no transform of rows that failed validation
            ),
            Component(
                "tuner",
                "components.tuner.component:SPEC",
                {"transform": "transform"},
                {
                    "search_space": "pipelines.census.model:search_space",
                    "families": config.tuner.searched_families(),
                    "model_fn": model_fn,
                    "label": LABEL_KEY,
                    "oracle": config.tuner.oracle,
                    "max_trials": config.tuner.max_trials,
                    "max_minutes": config.tuner.max_minutes,
                    "trial_steps": config.tuner.trial_steps,
                    "batch_size": config.trainer.batch_size,
                    "objective": config.tuner.objective,
                    "folds": config.tuner.folds,
                    "workers": config.tuner.workers,
                    "seed": config.seed,
                },
            ),
            Component(
                "trainer",
                "components.trainer:SPEC",
                {"transform": "transform", "hyperparameters": "tuner"},
                {
                    "model_fn": model_fn,
                    "label": LABEL_KEY,
                    "train_steps": config.trainer.train_steps,
                    "batch_size": config.trainer.batch_size,
                    "eval_every_steps": config.trainer.eval_every_steps,
                    "early_stopping_patience": config.trainer.early_stopping_patience,
                    "ensemble_size": config.trainer.ensemble_size,
                    "seed": config.seed,
                },
            ),
            Component(
                "compact_export",
                "components.compact_export:SPEC",
                {"model": "trainer", "transform": "transform"},
                {"label": LABEL_KEY, "enabled": config.compact_export.enabled, "latency_calls": config.compact_export.latency_calls},
            ),
            Component(
                "evaluator",
                "components.evaluator:SPEC",
                {"model": "trainer", "transform": "transform", "examples": "example_gen", "compact": "compact_export"},
                {
                    "label": LABEL_KEY,
                    "positive_label": POSITIVE_LABEL,
                    "choose_by": "log_loss",
                    "slices": [spec.model_dump() for spec in config.evaluator.slices],
                    "serving_dir": serving_dir,
                    "objective": config.tuner.objective,
                    "objective_tolerance": config.evaluator.objective_tolerance,
                    "min_accuracy": config.min_accuracy,
                    "min_slice_rows": config.evaluator.min_slice_rows,
                },
            ),
            Component(
                "pusher",
                "components.pusher:SPEC",
                {"model": "trainer", "evaluation": "evaluator"},
                {"serving_dir": serving_dir, "pipeline": NAME, "keep_versions": config.pusher.keep_versions},
                after=("skew_validator",),  # its gate: no push of a model whose serving data is skewed
            ),
        ),
    )
