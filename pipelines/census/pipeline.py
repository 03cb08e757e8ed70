"""The census pipeline (UCI Adult): will a person earn more than $50K a year?

A declaration (`components.standard_pipeline`): the framework wires the components and the
settings; `sluice run census` and `dags/census.py` both run it. Any setting can be
overridden (`-o trainer.train_steps=500`).
"""

from __future__ import annotations

from pathlib import Path

from pipelines.census.features import CSV_COLUMNS, LABEL_KEY, POSITIVE_LABEL
from components.standard_pipeline import Declaration
from sluice.modeling.slicing import SliceSpec

# Beside this module, so an installed Sluice carries them (package data).
DATA_DIR = Path(__file__).resolve().parent / "data"
SCHEMA_FILE = Path(__file__).resolve().parent / "schema.pbtxt"

PIPELINE = Declaration(
    name="census",
    label=LABEL_KEY,
    positive_label=POSITIVE_LABEL,
    columns=CSV_COLUMNS,
    # adult.data/adult.test: no header, '?' for unknown, a comment first line and "<=50K." labels in adult.test.
    csv={"header": False, "comment_prefix": "|", "missing_values": ["?"], "strip_suffixes": {LABEL_KEY: "."}},
    data={"train_file": str(DATA_DIR / "adult.data.gz"), "test_file": str(DATA_DIR / "adult.test.gz")},
    # Dotted paths, not imports: reading a pipeline (the DAG parser does) imports no TensorFlow.
    preprocessing_fn=f"{__package__}.preprocessing:preprocessing_fn",
    search_space=f"{__package__}.model:search_space",
    model_fn=f"{__package__}.model:build_model",
    reviewed_schema=str(SCHEMA_FILE),
    settings={
        # The demo's search: four trials over the forests, which train in one pass (the
        # Trainer reuses them) and lead on census. Every family: `-o tuner.families=null`.
        "tuner": {"families": ["gradient_boosted_trees", "random_forest"], "max_trials": 4},
        "evaluator": {
            "slices": [
                SliceSpec(feature="sex", tolerance=0.05),
                SliceSpec(feature="race", tolerance=0.05),
                SliceSpec(feature="education", tolerance=0.05),
                SliceSpec(feature="age", buckets=[25, 35, 45, 55, 65], tolerance=0.05),
            ]
        },
        "min_accuracy": 0.84,
    },
    doc=__doc__,
)

# The module contract (sluice.registry), also imported by name by tests and benchmarks.
NAME = PIPELINE.name
CSV_FORMAT = PIPELINE.csv_format()
Config = CensusConfig = PIPELINE.config
create_pipeline = PIPELINE.create_pipeline
sample_rows_file = PIPELINE.sample_rows_file
