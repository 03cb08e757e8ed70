"""Census accuracy: the searched model, its ensemble and the trivial baselines on adult.test.

Runs the census pipeline end to end in a child process with a search budget in minutes
(Bayesian optimisation by default), then scores on the test split (adult.test, 16,281
rows, never used to train or to choose):
- the best trial's model and the ensemble of the top trials, as exported (raw rows in);
- the majority class and a logistic regression, trained on train like any model.
Prints accuracy, AUC, log loss, and the CPU minutes the run used (all its processes).

    .venv/bin/python bench/census_accuracy.py [--minutes 20] [--oracle bayesian]

Goal: accuracy >= 0.870 within 20 minutes of search on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT  # noqa: E402

LABEL = "income_bracket"


def baselines_on_test(transform_uri: str, seed: int) -> dict:
    """Majority class and logistic regression trained on train (early stopping on eval),
    scored on test."""
    import keras

    from sluice.artifacts import read_artifact
    from sluice.modeling.baselines import logistic_regression, majority_class
    from sluice.modeling.fitting import Budget, fit, score, split_reader
    from sluice.modeling.datasets import model_features

    transform = read_artifact(transform_uri)
    features = model_features(transform, LABEL)
    budget = Budget(steps=2000, batch_size=256, eval_every_steps=200, early_stopping_patience=3)
    evaluation = split_reader(transform, "eval", LABEL)(budget.batch_size, False, False, None)
    test = split_reader(transform, "test", LABEL)(budget.batch_size, False, False, None)
    scores = {}
    for name, build in (("majority class", majority_class), ("logistic regression", logistic_regression)):
        keras.utils.set_random_seed(seed)
        model = build({}, features, seed)
        fit(model, split_reader(transform, "train", LABEL), evaluation, budget, seed)
        scores[name] = score(model, test)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--oracle", default="bayesian", choices=["random", "bayesian", "hyperband"])
    parser.add_argument("--max-trials", type=int, default=200)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="census_accuracy-"))
    settings = [f"tuner.oracle={args.oracle}", f"tuner.max_minutes={args.minutes}", f"tuner.max_trials={args.max_trials}"]
    command = [str(Path(sys.executable).parent / "sluice"), "run", "census", "--home", str(home)]
    for setting in settings:
        command += ["-o", setting]
    started = time.monotonic()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit(f"census run failed:\n{completed.stderr[-3000:]}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_minutes = (children.ru_utime + children.ru_stime) / 60

    (run_dir,) = (home / "artifacts" / "census").iterdir()
    record = lambda component: json.loads((run_dir / component / "artifact.json").read_text())["properties"]  # noqa: E731
    tuner, evaluation = record("tuner"), record("evaluator")
    scores = {f"{name} model": candidate["test"] for name, candidate in evaluation["candidates"].items()}
    scores.update(baselines_on_test(str(run_dir / "transform"), seed=42))

    print(f"\nCensus income on adult.test ({evaluation['metrics']['examples']:,} rows); {args.oracle} search of {args.minutes:g} min")
    print(f"  trials: {tuner['trials']} ({tuner['completed_trials']} completed) in {tuner['search_seconds'] / 60:.1f} min; best: {tuner['hyperparameters']}")
    print(f"  {'':<26} {'accuracy':>9} {'AUC':>7} {'log loss':>9}")
    for name, metrics in scores.items():
        print(f"  {name:<26} {metrics['accuracy']:>9.4f} {metrics['auc']:>7.4f} {metrics['log_loss']:>9.4f}")
    print(f"  pushed: {evaluation['chosen']} model (chosen by {evaluation['chosen_by']}), test accuracy {evaluation['metrics']['accuracy']:.4f}   (goal >= 0.870)")
    print(f"  wall {wall / 60:.1f} min, CPU {cpu_minutes:.1f} min (every process of the run)")
    from sluice.process import exit_now

    exit_now(0)


if __name__ == "__main__":
    main()
