"""AutoML suite: `sluice init` + `sluice run` against scikit-learn's HistGradientBoosting.

For each data set (each ships inside an installable package: scikit-learn, palmerpenguins,
and census inside this one's `pipelines.census`), in one script run:
1. one fixed, seeded train/test split, written as two CSV files with a header into a
   temp dir (census: adult.data and adult.test, its own split);
2. `sluice init NAME --data train.csv --label L --task T`, then
   `sluice run NAME -o data.test_file=test.csv -o tuner.max_trials=8` through the installed
   CLI, with $SLUICE_HOME and $SLUICE_PIPELINES in the temp dir; the score is the Sluice
   Evaluator's on the test split (the pushed candidate);
3. `HistGradientBoostingClassifier` / `Regressor` with default settings, fitted on the same
   train rows (categoricals as pandas `category` columns, `categorical_features="from_dtype"`;
   missing values left missing) and scored on the same test rows.

Budget, the same for every data set: Sluice's search is `tuner.max_trials=8` over the
standard space's families (linear, DNN, Wide & Deep where there are categorical features,
gradient boosted trees, random forest), with everything else as `sluice init` writes it:
the first trials are each family's defaults; a network trains for up to ~40 passes
(200-2,000 steps); under 5,000 rows a trial trains as long as the final model, without
early stopping, and is scored by 5-fold cross-validation; above it, early stopping on the
eval split (10% of the train file), where trials are scored with a quarter of the steps. Scores are test accuracy, or RMSE for a regression; PASS means Sluice's score is at
least HGB's (accuracy >=, RMSE <=). With --repeats N, each side runs N times (Sluice with
seeds 42, 43, ...; HGB with random_state 0, 1, ...) on the same split and the table shows
medians. Wall times: Sluice's is init + run as whole processes (statistics, validation,
transform, search, training, evaluation, export, push); HGB's is fit + predict.

    .venv/bin/python bench/automl_suite.py [--datasets census,penguins] [--repeats 3]

Data sets: census (binary, 32,561 + 16,281 rows, missing values), breast_cancer (binary,
569), penguins (multiclass, 344, missing values; PyPI palmerpenguins), wine (multiclass,
178), diabetes (regression, 442). Small sets have small test splits (25% of rows): a
single test row is worth 0.7-2.3 accuracy points there.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT  # noqa: E402

MAX_TRIALS = 8
SPLIT_SEED = 0
TEST_SHARE = 0.25


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str
    task: str  # "binary", "multiclass" or "regression"
    label: str
    source: str
    load: Callable[[], tuple]  # -> (train frame, test frame), label column included


def _split(frame, label: str, stratify: bool):
    from sklearn.model_selection import train_test_split

    return train_test_split(frame, test_size=TEST_SHARE, random_state=SPLIT_SEED, stratify=frame[label] if stratify else None)


def _sklearn(loader: str, label: str, stratify: bool, classes: bool) -> Callable[[], tuple]:
    def load():
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader)(as_frame=True)
        frame = bunch.frame.rename(columns=lambda c: c.replace(" ", "_"))
        if classes:  # class names, as a user's file would have them
            frame[label] = [str(bunch.target_names[i]) for i in frame[label]]
        return _split(frame, label, stratify)

    return load


def _penguins():
    import pandas as pd

    # The package's data file, found without importing the package: its __init__ needs
    # pkg_resources (setuptools), which newer environments lack.
    package = Path(importlib.util.find_spec("palmerpenguins").submodule_search_locations[0])
    return _split(pd.read_csv(package / "data" / "penguins.csv"), "species", stratify=True)


def _census():
    import pandas as pd

    from pipelines.census.features import CSV_COLUMNS
    from pipelines.census.pipeline import DATA_DIR

    def read(file: str):
        with gzip.open(DATA_DIR / file, "rt") as handle:
            frame = pd.read_csv(handle, header=None, names=list(CSV_COLUMNS), comment="|", skipinitialspace=True, na_values=["?"])
        frame["income_bracket"] = frame["income_bracket"].str.rstrip(".")  # adult.test writes ">50K."
        return frame

    return read("adult.data.gz"), read("adult.test.gz")


DATASETS = {
    d.name: d
    for d in (
        Dataset("census", "binary", "income_bracket", "pipelines/census/data (UCI Adult)", _census),
        Dataset("breast_cancer", "binary", "target", "sklearn load_breast_cancer", _sklearn("load_breast_cancer", "target", True, True)),
        Dataset("penguins", "multiclass", "species", "palmerpenguins 0.1.4", _penguins),
        Dataset("wine", "multiclass", "target", "sklearn load_wine", _sklearn("load_wine", "target", True, True)),
        Dataset("diabetes", "regression", "target", "sklearn load_diabetes", _sklearn("load_diabetes", "target", False, False)),
    )
}
DEFAULT_DATASETS = ("census", "breast_cancer", "penguins", "diabetes")


def hgb_score(dataset: Dataset, train, test, seed: int) -> tuple[float, float]:
    """(test score, seconds to fit and predict) of HistGradientBoosting with default settings."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    def features(frame):
        x = frame.drop(columns=[dataset.label]).copy()
        for column in x.columns:
            if x[column].dtype == object:
                x[column] = x[column].astype(pd.CategoricalDtype(sorted(train[column].dropna().unique())))
        return x

    regression = dataset.task == "regression"
    model = (HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier)(categorical_features="from_dtype", random_state=seed)
    started = time.monotonic()
    model.fit(features(train), train[dataset.label])
    predicted = model.predict(features(test))
    seconds = time.monotonic() - started
    truth = test[dataset.label].to_numpy()
    score = float(np.sqrt(np.mean((predicted - truth) ** 2))) if regression else float(np.mean(predicted == truth))
    return score, seconds


def sluice_score(dataset: Dataset, work: Path, seed: int) -> tuple[float, float, dict]:
    """(test score, seconds of init + run, what the run chose) of Sluice on work/train.csv."""
    sluice = Path(sys.executable).parent / "sluice"
    env = {
        **os.environ,
        "SLUICE_HOME": str(work / "home"),
        "SLUICE_PIPELINES": str(work / "pipelines"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    name = f"bench_{dataset.name}"
    commands = [
        [str(sluice), "init", name, "--data", str(work / "train.csv"), "--label", dataset.label, "--task", dataset.task, "--force"],
        [str(sluice), "run", name, "--run-id", "bench", "-o", f"data.test_file={work / 'test.csv'}",
         "-o", f"tuner.max_trials={MAX_TRIALS}", "-o", f"seed={seed}"],
    ]
    started = time.monotonic()
    for command in commands:
        completed = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        (work / f"{command[1]}.log").write_text(completed.stdout + completed.stderr)
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:3])} failed ({completed.returncode}), see {work / (command[1] + '.log')}:\n{completed.stderr[-3000:]}")
    seconds = time.monotonic() - started
    run_dir = work / "home" / "artifacts" / name / "bench"
    props = lambda component: json.loads((run_dir / component / "artifact.json").read_text())["properties"]  # noqa: E731
    evaluation, tuner = props("evaluator"), props("tuner")
    metric = "rmse" if dataset.task == "regression" else "accuracy"
    chosen = {"model": evaluation["chosen"], "best": tuner.get("hyperparameters", {}).get("family"), "examples": evaluation["metrics"].get("examples")}
    return float(evaluation["metrics"][metric]), seconds, chosen


def run_dataset(dataset: Dataset, repeats: int, keep: bool) -> dict:
    train, test = dataset.load()
    base = Path(tempfile.mkdtemp(prefix=f"automl-{dataset.name}-"))
    train.to_csv(base / "train.csv", index=False)
    test.to_csv(base / "test.csv", index=False)
    sluice_runs, hgb_runs = [], []
    for repeat in range(repeats):
        work = base / f"repeat{repeat}"
        work.mkdir()
        for file in ("train.csv", "test.csv"):
            (work / file).symlink_to(base / file)
        sluice_runs.append(sluice_score(dataset, work, seed=42 + repeat))
        hgb_runs.append(hgb_score(dataset, train, test, seed=repeat))
        print(f"  {dataset.name} repeat {repeat}: sluice {sluice_runs[-1][0]:.4f} ({sluice_runs[-1][1]:.0f} s, {sluice_runs[-1][2]}), "
              f"hgb {hgb_runs[-1][0]:.4f} ({hgb_runs[-1][1]:.1f} s)  [{work}]", flush=True)
    if not keep:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    median = lambda runs, i: statistics.median(run[i] for run in runs)  # noqa: E731
    sluice, hgb = median(sluice_runs, 0), median(hgb_runs, 0)
    regression = dataset.task == "regression"
    at_least = lambda mine, theirs: mine <= theirs if regression else mine >= theirs  # noqa: E731
    return {
        "dataset": dataset.name,
        "task": dataset.task,
        "rows": f"{len(train)}+{len(test)}",
        "missing": bool(train.isna().any().any() or test.isna().any().any()),
        "metric": "RMSE" if regression else "accuracy",
        "sluice": sluice,
        "hgb": hgb,
        "sluice_s": median(sluice_runs, 1),
        "hgb_s": median(hgb_runs, 1),
        "pass": at_least(sluice, hgb),
        "repeats_matched": sum(at_least(mine[0], theirs[0]) for mine, theirs in zip(sluice_runs, hgb_runs)),
    }


def print_table(results: list[dict], repeats: int) -> None:
    print(f"\nSluice (init + run, tuner.max_trials={MAX_TRIALS}, init's families, steps and protocol) vs HistGradientBoosting (defaults);"
          f" test split; median of {repeats} repeat(s)")
    print(f"{'data set':<14} {'task':<11} {'train+test':>12} {'missing':>7} {'metric':>8} {'Sluice':>8} {'HGB':>8} {'Sluice s':>9} {'HGB s':>7}  result (repeats matched)")
    for r in results:
        if "error" in r:
            print(f"{r['dataset']:<14} ERROR: {r['error']}")
            continue
        print(f"{r['dataset']:<14} {r['task']:<11} {r['rows']:>12} {'yes' if r['missing'] else 'no':>7} {r['metric']:>8} "
              f"{r['sluice']:>8.4f} {r['hgb']:>8.4f} {r['sluice_s']:>9.0f} {r['hgb_s']:>7.2f}  {'PASS' if r['pass'] else 'FAIL'} ({r['repeats_matched']}/{repeats})")
    load = os.getloadavg()
    print(f"load average now: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS), help=f"comma-separated, of: {', '.join(DATASETS)}")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (data, pipelines, artifacts, logs)")
    parser.add_argument("--list", action="store_true", help="list the data sets and exit")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in DATASETS]
    if unknown:
        parser.error(f"unknown data set(s) {unknown}; known: {', '.join(DATASETS)}")
    if args.list:
        for d in DATASETS.values():
            print(f"{d.name:<14} {d.task:<11} label {d.label!r:<18} {d.source}")
        return
    load = os.getloadavg()
    print(f"Load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(f"Budget: sluice run -o tuner.max_trials={MAX_TRIALS}; families, steps and protocol as sluice init writes them; "
          f"HGB defaults. Split: census its own; others {TEST_SHARE:.0%} test, seed {SPLIT_SEED}.", flush=True)
    results = []
    for name in chosen:
        try:
            results.append(run_dataset(DATASETS[name], args.repeats, args.keep))
        except RuntimeError as error:  # a failed run is a result too; the other data sets still run
            print(f"  {name}: {error}", flush=True)
            results.append({"dataset": name, "error": str(error).splitlines()[0]})
    print_table(results, args.repeats)


if __name__ == "__main__":
    main()
