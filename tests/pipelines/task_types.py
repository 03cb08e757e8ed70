"""Two small pipelines beyond binary, on generated CSVs: a multiclass one ("species" from two
informative numbers and a colour) and a regression whose label is derived in the
preprocessing_fn ("tip_rate" = 100 x tips / fare, where fare and tips are not features).

Built as census is (ExampleGen, StatisticsGen, SchemaGen, Transform, Tuner, Trainer,
Evaluator, Pusher), with a search space of one network and one forest.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sluice import preprocessing as pp
from sluice.modeling import families
from sluice.pipeline import Component, Pipeline

COLUMNS = {
    "multiclass": [["x1", "float"], ["x2", "float"], ["colour", "string"], ["species", "string"]],
    "regression": [["x1", "float"], ["x2", "float"], ["colour", "string"], ["fare", "float"], ["tips", "float"]],
}
LABEL = {"multiclass": "species", "regression": "tip_rate"}
LABEL_SOURCES = {"multiclass": (), "regression": ("fare", "tips")}
COLOURS = ("red", "green", "blue")
SPECIES = ("ash", "birch", "cedar")


def write_csv(path: Path, task: str, rows: int = 400, seed: int = 0) -> Path:
    """A CSV with a header: classes from x1 and x2 (multiclass), or tips whose rate of the fare
    is linear in x1, x2 and the colour plus noise (regression)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    colour = rng.choice(COLOURS, size=rows)
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow([name for name, _ in COLUMNS[task]])
        for i in range(rows):
            if task == "multiclass":
                scores = [2 * x1[i], 2 * x2[i], -x1[i] - x2[i]] + rng.normal(scale=0.3, size=3)
                out.writerow([f"{x1[i]:.4f}", f"{x2[i]:.4f}", colour[i], SPECIES[int(np.argmax(scores))]])
            else:
                rate = 15 + 3 * x1[i] - 2 * x2[i] + (2.0 if colour[i] == "red" else 0.0) + rng.normal(scale=0.3)
                fare = float(rng.uniform(5, 60))
                out.writerow([f"{x1[i]:.4f}", f"{x2[i]:.4f}", colour[i], f"{fare:.2f}", f"{fare * rate / 100:.4f}"])
    return path


def _features(inputs: dict) -> dict:
    return {
        "x1": pp.z_score(inputs["x1"]),
        "x2": pp.z_score(inputs["x2"]),
        "colour": pp.vocabulary(pp.impute_category(inputs["colour"]), name="colour"),
    }


def multiclass_preprocessing_fn(inputs: dict) -> dict:
    """The species' names become class ids 0..2 by a training vocabulary (no OOV bucket)."""
    return {**_features(inputs), "species": pp.vocabulary(pp.dense(inputs["species"], ""), num_oov_buckets=0, name="species")}


def regression_preprocessing_fn(inputs: dict) -> dict:
    """The label, the tip as a percentage of the fare, is derived from two raw columns that
    are not features: served rows carry neither."""
    tip_rate = 100.0 * pp.dense(inputs["tips"], 0.0) / pp.dense(inputs["fare"], 1.0)
    return {**_features(inputs), "tip_rate": tip_rate}


def search_space(hp) -> None:
    hp.Choice("family", ["dnn", "forest"], default="dnn")


def build_model(values, features, seed: int):
    if values["family"] == "dnn":
        return families.dnn(features, units=16, layers=1, embedding_dim=2, dropout=0.0, learning_rate=0.02)
    if features.task == "multiclass":
        return families.gradient_boosted_trees(features, num_trees=30, max_depth=3, min_examples=2, seed=seed)
    return families.random_forest(features, num_trees=30, max_depth=6, min_examples=2, seed=seed)


def create_pipeline(task: str, csv_file: Path, home: Path) -> Pipeline:
    """The pipeline of `task` on `csv_file`; its served versions go to <home>/serving/<task>."""
    label, here = LABEL[task], "tests.pipelines.task_types"
    serving_dir = str(home / "serving" / task)
    return Pipeline(
        f"tasks_{task}",
        (
            Component(
                "example_gen",
                "components.example_gen.component:SPEC",
                params={
                    "sources": [{"pattern": str(csv_file), "splits": {"train": 70, "eval": 15, "test": 15}}],
                    "format": {"columns": COLUMNS[task], "header": True},
                },
            ),
            Component("statistics_gen", "components.statistics_gen:SPEC", {"examples": "example_gen"}),
            Component(
                "schema_gen",
                "components.schema_gen:SPEC",
                {"statistics": "statistics_gen"},
                {"label": label if task == "multiclass" else None},
            ),
            Component(
                "transform",
                "components.transform.component:SPEC",
                {"examples": "example_gen", "schema": "schema_gen", "statistics": "statistics_gen"},
                {"preprocessing_fn": f"{here}:{task}_preprocessing_fn", "post_transform_statistics": False},
            ),
            Component(
                "tuner",
                "components.tuner.component:SPEC",
                {"transform": "transform"},
                {
                    "search_space": f"{here}:search_space",
                    "model_fn": f"{here}:build_model",
                    "label": label,
                    "task": task,
                    "max_trials": 2,
                    "trial_steps": 60,
                    "batch_size": 32,
                    "eval_every_steps": 30,
                },
            ),
            Component(
                "trainer",
                "components.trainer:SPEC",
                {"transform": "transform", "hyperparameters": "tuner"},
                {
                    "model_fn": f"{here}:build_model",
                    "label": label,
                    "task": task,
                    "label_sources": list(LABEL_SOURCES[task]),
                    "train_steps": 150,
                    "batch_size": 32,
                    "eval_every_steps": 50,
                    "ensemble_size": 2,
                },
            ),
            Component(
                "evaluator",
                "components.evaluator:SPEC",
                {"model": "trainer", "transform": "transform", "examples": "example_gen"},
                {
                    "label": label,
                    "task": task,
                    "slices": [{"feature": "colour"}],
                    "serving_dir": serving_dir,
                    "min_slice_rows": 10,
                    **({"min_accuracy": 0.7} if task == "multiclass" else {"floor": {"r2": 0.5}}),
                },
            ),
            Component(
                "pusher",
                "components.pusher:SPEC",
                {"model": "trainer", "evaluation": "evaluator"},
                {"serving_dir": serving_dir, "pipeline": f"tasks_{task}"},
            ),
        ),
    )
