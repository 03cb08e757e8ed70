"""The settings of a declared pipeline (`components.standard_pipeline`): one pydantic section per stage.

Every declared pipeline has the same sections and keys (`-o tuner.max_trials=2` means the
same everywhere); a declaration changes only their defaults.
"""

from __future__ import annotations

from pathlib import Path

import pydantic
from pydantic.fields import FieldInfo

from sluice.config import PipelineConfig
from sluice.modeling.families import stock_serving_families
from sluice.modeling.metrics import objective_direction
from sluice.modeling.slicing import SliceSpec

SPLIT_METHODS = ("hash", "stratified", "time")


class Section(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class DataConfig(Section):
    """Where the rows are and how they are split.

    With a `test_file`, the train file is split into train and eval; without one, into
    train, eval and test (`test_percent`).
    """

    # CSV, Parquet (.parquet, .parq) or TFRecord files, by extension; either may be a pattern
    # of spans, e.g. /data/census/{YYYY}-{MM}-{DD}/*.csv (sluice.spans).
    train_file: str
    test_file: str | None = None
    rolling_spans: int = pydantic.Field(1, ge=1)  # train on the chosen span and the ones before it
    eval_percent: int = pydantic.Field(10, ge=1, le=98)
    test_percent: int = pydantic.Field(10, ge=1, le=98)  # used only without a test_file
    # hash: by a hash of `split_key` columns (default: the raw row as read); stratified:
    # the same, with each label class cut in the same proportions; time: the earliest rows
    # by `split_time_column` (unix seconds or ISO 8601) train, the later ones eval (and test).
    split: str = pydantic.Field("hash", pattern=f"^({'|'.join(SPLIT_METHODS)})$")
    split_key: list[str] | None = None
    split_time_column: str | None = None  # used only by split=time
    max_reject_fraction: float = pydantic.Field(0.0, ge=0, le=1)

    @pydantic.field_validator("train_file", "test_file")
    @classmethod
    def _absolute(cls, path: str | None) -> str | None:
        # Components may run in another working directory (an Airflow worker, a child process).
        return path if path is None or "://" in path else str(Path(path).resolve())

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> "DataConfig":
        if self.test_file is None and self.eval_percent + self.test_percent >= 100:
            raise ValueError("data.eval_percent + data.test_percent must leave rows to train on")
        if self.split == "time" and not self.split_time_column:
            raise ValueError("data.split=time needs data.split_time_column: the column of times to order rows by")
        if self.split == "time" and self.split_key is not None:
            raise ValueError("data.split_key is for a hash or stratified split; a split by time orders rows by data.split_time_column")
        return self

    def split_percentages(self) -> tuple[dict[str, int], dict[str, int] | None]:
        """(splits of the train file, splits of the test file or None)."""
        if self.test_file is not None:
            return {"train": 100 - self.eval_percent, "eval": self.eval_percent}, {"test": 100}
        train = 100 - self.eval_percent - self.test_percent
        return {"train": train, "eval": self.eval_percent, "test": self.test_percent}, None


class ValidationConfig(Section):
    drift: bool = True
    skew: bool = True
    warn_only: list[str] = []
    # Used by an inferred schema (a reviewed one keeps its own min_domain_mass per feature).
    unseen_category_share: float = pydantic.Field(0.01, ge=0, le=1)


class TransformConfig(Section):
    # One span: the cache's extra Beam stages would cost more than they save.
    analyzer_cache: bool = False


class TunerConfig(Section):
    oracle: str = pydantic.Field("random", pattern="^(random|bayesian|hyperband)$")
    max_trials: int = pydantic.Field(6, ge=0)
    max_minutes: float | None = pydantic.Field(None, gt=0)
    trial_steps: int = pydantic.Field(300, ge=1)
    objective: str | None = None  # None: the task's usual one (log loss; RMSE for a regression)
    folds: int = pydantic.Field(1, ge=1)
    # The first trials are each family's defaults, then the oracle's own points (not Hyperband).
    defaults_first: bool = False
    workers: int = pydantic.Field(1, ge=1)
    # The families searched (None: every family of the space).
    families: list[str] | None = None
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
    def _known_metric(cls, objective: str | None) -> str | None:
        if objective is not None:
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
    slices: list[SliceSpec] = []


class PusherConfig(Section):
    keep_versions: int = pydantic.Field(5, ge=1)


class CompactExportConfig(Section):
    # TFLite float16/int8 forms of each exported Keras model part, measured beside the SavedModel.
    # Off, the component stays in the pipeline (and the Airflow DAG) and records that it was off.
    enabled: bool = True
    latency_calls: int = pydantic.Field(200, ge=1)


class StandardConfig(PipelineConfig):
    """Every setting of a declared pipeline; a declaration gives the defaults."""

    data: DataConfig
    validation: ValidationConfig = ValidationConfig()
    transform: TransformConfig = TransformConfig()
    tuner: TunerConfig = TunerConfig()
    trainer: TrainerConfig = TrainerConfig()
    evaluator: EvaluatorConfig = EvaluatorConfig()
    pusher: PusherConfig = PusherConfig()
    compact_export: CompactExportConfig = CompactExportConfig()
    reviewed_schema: str
    min_accuracy: float = pydantic.Field(0.0, ge=0, le=1)  # the blessing's absolute floor
    seed: int = 42


SECTIONS = {
    "data": DataConfig,
    "validation": ValidationConfig,
    "transform": TransformConfig,
    "tuner": TunerConfig,
    "trainer": TrainerConfig,
    "evaluator": EvaluatorConfig,
    "pusher": PusherConfig,
    "compact_export": CompactExportConfig,
}


def config_class(class_name: str, defaults: dict) -> type[StandardConfig]:
    """A StandardConfig subclass whose defaults are `defaults` ({section: {field: value}} or
    {top-level field: value}); each is validated now, so a bad default fails at import."""
    fields = {}
    for key, value in defaults.items():
        if key in SECTIONS:
            fields[key] = (SECTIONS[key], SECTIONS[key].model_validate(value))
        elif key in StandardConfig.model_fields:
            field = StandardConfig.model_fields[key]
            fields[key] = (field.annotation, FieldInfo.merge_field_infos(field, default=value))
        else:
            raise ValueError(f"{class_name}: no setting {key!r}")
    config = pydantic.create_model(class_name, __base__=StandardConfig, **fields)
    config.model_validate(config().model_dump())  # the defaults themselves break no constraint
    return config
