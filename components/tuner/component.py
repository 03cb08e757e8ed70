"""Tuner: a keras-tuner oracle proposes, each trial trains in its own process, the best wins.

The oracle (random search, Bayesian optimisation or Hyperband) proposes points of the
pipeline's search space; each trial builds, trains and scores its model in a fresh
process (`components.tuner.trial`), so memory does not grow over a long search, and records its
validation metrics, parameter count and single-row latency. The search stops at
`max_trials` or `max_minutes`. Every trial's status is checked: a search in which no
trial succeeded fails with the trials' errors. With `workers` > 1, trials run side by
side in worker processes fed by keras-tuner's chief/worker service (`components.tuner.search`).

Resume: the oracle's state lives beside the run (`<run>/.tuner.search/`) and is
snapshotted after every finished trial; a search killed mid-way and started again (same
run, same inputs and parameters) restores the last snapshot and goes on without redoing
finished trials. A finished search moves its state into the artifact (`search/`).

Kept models: a decision forest trains in one pass over the train split, so under holdout
a trial's forest is exactly the model the Trainer would train. Each such trial keeps its
SavedModel (`search/models/<trial_id>`, `kept_model`), and the Trainer reuses it.

Baselines: the majority class and a logistic regression (the `linear` family at its
defaults), or for a regression the mean and a linear regression, are scored with the
same protocol, so the search result is seen beside them; they train in a process of their
own while the search runs.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import sys
import time
from typing import Any, Mapping, Sequence

from components.tuner.search import SearchState, SearchStopped, run_with_workers, trial_loop
from components.tuner.trial import TrialProcess
from sluice import progress
from sluice.artifacts import Artifact, ArtifactDraft, ArtifactProperties
from sluice.config import ConfigError
from sluice.contract import ComponentSpec
from sluice.errors import SluiceError
from sluice.modeling.metrics import DIRECTIONS, best_first, check_objective, default_objective, objective_direction
from sluice.modeling.transform_graph import TransformGraph

HYPERPARAMETERS_FILE = "best_hyperparameters.json"
TRIALS_FILE = "trials.json"
SEARCH_DIR = "search"  # the oracle's files, and `models/<trial_id>` each trial kept
ORACLES = ("random", "bayesian", "hyperband")
_TUNER_ID = "sluice"
_HYPERBAND_MAX_EPOCHS = 9
# Recorded per trial beside its metrics: size, single-row latency, and when it ran.
_COST_AND_TIME = ("parameters", "latency_ms", "seconds", "started_at", "ended_at")


class SearchFailed(SluiceError):
    """No trial of the search finished."""


@dataclasses.dataclass(frozen=True)
class Params:
    """Tuner's parameters.

    Args:
        search_space: "module:function" declaring the hyperparameters on a keras-tuner
            HyperParameters.
        model_fn: "module:function" building a model from (values, ModelFeatures, seed).
        label: the label's transformed feature name.
        families: restricts the space's `family` choice to these values (None: all of
            them), e.g. to families a stock TF Serving loads.
        oracle: "random", "bayesian" or "hyperband".
        max_trials: trials to run; 0 switches the search off and keeps the space's defaults.
        max_minutes: wall-clock budget of the search (None: no limit); no trial starts after it.
        trial_steps: training steps of a network per trial (Hyperband gives a trial 1/9,
            1/3 or all of them); decision forests train in one pass.
        batch_size: examples per training step.
        eval_every_steps: steps between a trial's evaluations, for early stopping.
        early_stopping_patience: evaluations without a better validation loss before a
            trial stops (0: never).
        task: "binary", "multiclass" or "regression": the models' heads, losses and metrics.
        objective: the validation metric trials are ranked by (None: the task's usual one,
            `sluice.modeling.metrics.TASK_OBJECTIVES`): e.g. "log_loss" (minimised),
            "accuracy" or "auc" (maximised); "rmse" for a regression.
        folds: 1 scores on the eval split; K > 1 scores by K-fold over the train split.
        defaults_first: the first trials are each family's defaults (the space's default
            family first), then the oracle proposes; a short search so tries every family
            as its author set it before sampling. Not with Hyperband (its own brackets).
        workers: trials run at once; above 1, keras-tuner's chief/worker mode on loopback.
        seed: drives the oracle, shuffling and initialisation.
    """

    search_space: str
    model_fn: str
    label: str
    families: Sequence[str] | None = None
    oracle: str = "random"
    max_trials: int = 10
    max_minutes: float | None = None
    trial_steps: int = 300
    batch_size: int = 256
    eval_every_steps: int = 100
    early_stopping_patience: int = 2
    task: str = "binary"
    objective: str | None = None
    folds: int = 1
    defaults_first: bool = False
    workers: int = 1
    seed: int = 42

    def __post_init__(self):
        from sluice.modeling.tasks import check_task

        if self.oracle not in ORACLES:
            raise ConfigError(f"Tuner: oracle must be one of {ORACLES}, not {self.oracle!r}")
        check_task(self.task, "Tuner: task")
        if self.objective is None:
            object.__setattr__(self, "objective", default_objective(self.task))
        check_objective(self.objective, self.task, "Tuner: objective")


class HyperParameters(ArtifactProperties):
    """A Tuner artifact: the chosen hyperparameters and how the search went.

    The search fields are None when there was no search (`searched` False: the space's
    defaults). Every trial is in `trials.json` (`load_trials`, `ranked_trials`).

    Args:
        hyperparameters: the best trial's values (also in best_hyperparameters.json).
        searched: whether trials ran.
        trials: how many trials ran; completed_trials: how many of them finished.
        objective: the metric trials were ranked by (its direction: `objective_direction`).
        best_metrics: the best trial's validation metrics.
        baselines: the majority class's and a logistic regression's metrics, same protocol.
    """

    hyperparameters: dict[str, Any]
    searched: bool
    trials: int
    completed_trials: int
    oracle: str | None = None
    objective: str | None = None
    protocol: str | None = None
    best_score: float | None = None
    best_trial: str | None = None
    best_metrics: dict[str, Any] = {}
    workers: int | None = None
    trials_run_now: int | None = None
    trials_restored: int | None = None
    search_seconds: float | None = None
    baselines: dict[str, dict[str, Any]] = {}


def load_trials(tuner: Artifact) -> list[dict]:
    with open(tuner.file(TRIALS_FILE)) as handle:
        return json.load(handle)


def kept_model(tuner: Artifact, trial_id: str) -> str | None:
    """The SavedModel a trial kept (a one-pass family under holdout), if it kept one."""
    path = tuner.file(SEARCH_DIR, "models", trial_id)
    return path if os.path.isdir(path) else None


def ranked_trials(tuner: Artifact) -> list[dict]:
    """The completed trials of a search, best first by its objective (none without a search)."""
    recorded = HyperParameters.of(tuner)
    if not recorded.searched:
        return []
    finished = [t for t in load_trials(tuner) if t["status"] == "COMPLETED" and t.get("score") is not None]
    return best_first(finished, recorded.objective, lambda t: t["score"])


def summary(tuner: Artifact) -> str:
    """The search in two lines: the best trial beside the baselines."""
    recorded = HyperParameters.of(tuner)
    if not recorded.searched:
        return f"No search: the space's defaults {recorded.hyperparameters}"
    best = ", ".join(f"{k}={v:.4f}" for k, v in recorded.best_metrics.items() if k in DIRECTIONS)
    baselines = "; ".join(
        f"{name.replace('_', ' ')} {metric}={m[metric]:.4f}"
        for name, m in recorded.baselines.items()
        for metric in ("accuracy", "rmse")
        if isinstance(m.get(metric), float)
    )
    return (
        f"Search ({recorded.oracle}, {recorded.protocol}): {recorded.completed_trials} of {recorded.trials} trials completed; "
        f"best trial {recorded.best_trial} ({recorded.hyperparameters.get('family', '')}): {best}\n"
        f"Baselines, same protocol: {baselines}"
    )


def default_values(search_space: str, families: Sequence[str] | None = None) -> dict:
    """The value every active hyperparameter takes by default."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    declare_space(hp, search_space, families)
    return dict(hp.values)


def declare_space(hp, search_space: str, families: Sequence[str] | None) -> None:
    """Declares `search_space` on `hp`, its `family` choice restricted to `families`.

    The restricted choice is declared first: keras-tuner hands an existing name's value
    back instead of declaring it again, so the space's own `hp.Choice("family", ...)` takes
    it, and the hyperparameters of the other families stay inactive.
    """
    import keras_tuner as kt

    from sluice.pipeline import load_object

    if families is not None:
        full = kt.HyperParameters()
        load_object(search_space)(full)
        declared = next((p for p in full.space if p.name == "family"), None)
        if declared is None:
            raise ConfigError(f"Tuner: families given, but {search_space} declares no 'family' choice")
        unknown = [f for f in families if f not in declared.values]
        if unknown or not families:
            raise ConfigError(f"Tuner: families {list(unknown or families)} not in the space's families {list(declared.values)}")
        allowed = [f for f in declared.values if f in families]
        default = declared.default if declared.default in allowed else allowed[0]
        hp.Choice("family", allowed, default=default)
    load_object(search_space)(hp)


def run(inputs: Mapping[str, Artifact], output: ArtifactDraft, params: Params, beam_args: Sequence[str]) -> None:
    from sluice.modeling.tasks import check_transformed_label

    transform = inputs["transform"]
    check_transformed_label(transform, params.label, params.task)  # before a search on labels it cannot learn
    if params.max_trials == 0:
        values = default_values(params.search_space, params.families)
        _write_files(output, values, trials=[])
        HyperParameters(hyperparameters=values, searched=False, trials=0, completed_trials=0).write(output)
        return

    search = SearchState(output.final_path.parent / f".{output.final_path.name}.search", _request_fingerprint(params, transform))
    oracle = make_oracle(params, search.restore())
    started = time.monotonic() - sum(t["seconds"] or 0.0 for t in _trial_records(oracle))
    deadline = started + params.max_minutes * 60 if params.max_minutes else None
    restored = len(oracle.trials)

    def after_trial() -> None:
        # end_trial saves before it drops the trial from the ongoing ones; a state saved
        # then would run the finished trial again on resume.
        oracle.save()
        search.snapshot()
        shown.advance(note=_best_so_far(oracle, params.objective))

    # The baselines train in their own process beside the search: their wait overlaps it.
    baselines_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="baselines")
    baselines_training = baselines_pool.submit(_train_baselines, params, transform)
    baselines_pool.shutdown(wait=False)
    try:
        with progress.task(
            "tuner", total=params.max_trials, unit="trials", lines="each", completed=restored, deadline=deadline
        ) as shown:
            if params.workers == 1:
                with TrialProcess() as trials:
                    run_one = lambda o, t: _run_trial(o, t, params, transform, search.models, trials)  # noqa: E731
                    trial_loop(oracle, _TUNER_ID, run_one, deadline, after_trial)
            else:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                request = {
                    "params": dataclasses.asdict(params),
                    "transform_uri": transform.uri,
                    "models_dir": str(search.models),
                    "seconds_left": remaining,
                }
                run_with_workers(oracle, params.workers, "components.tuner.component", request, after_trial)
    except SearchStopped as stopped:
        raise SearchFailed(f"Tuner: the search stopped: {stopped}\n  {_trial_errors(_trial_records(oracle))}") from None

    trials = _trial_records(oracle)
    finished = [t for t in trials if t["status"] == "COMPLETED" and t["score"] is not None]
    if not finished:
        raise SearchFailed(f"Tuner: none of {len(trials)} trials finished:\n  {_trial_errors(trials)}")
    best = best_first(finished, params.objective, lambda t: t["score"])[0]
    with progress.task("tuner: baselines", unit="models") as shown:
        baselines = baselines_training.result()
        shown.advance(len(baselines), note="trained beside the search")
    _write_files(output, best["hyperparameters"], trials=trials)
    search.move_into(output.file(SEARCH_DIR))
    HyperParameters(
        hyperparameters=best["hyperparameters"],
        searched=True,
        trials=len(trials),
        completed_trials=sum(t["status"] == "COMPLETED" for t in trials),
        oracle=params.oracle,
        objective=params.objective,
        protocol=f"{params.folds}-fold" if params.folds > 1 else "holdout",
        best_score=best["score"],
        best_trial=best["trial_id"],
        best_metrics=best["metrics"],
        workers=params.workers,
        trials_run_now=len(trials) - restored,
        trials_restored=restored,
        search_seconds=time.monotonic() - started,
        baselines=baselines,
    ).write(output)


def make_oracle(params: Params, project_dir: str | None):
    """The keras-tuner oracle `params` asks for, over the declared space, with its state in
    `project_dir` (reloaded when there is one; None for a worker's local copy)."""
    import keras_tuner as kt

    objective = kt.Objective(params.objective, objective_direction(params.objective))
    common = {"objective": objective, "seed": params.seed, "max_consecutive_failed_trials": 3}
    if params.oracle == "random":
        oracle = kt.oracles.RandomSearchOracle(max_trials=params.max_trials, **common)
    elif params.oracle == "bayesian":
        oracle = kt.oracles.BayesianOptimizationOracle(max_trials=params.max_trials, **common)
    else:
        oracle = kt.oracles.HyperbandOracle(max_epochs=_HYPERBAND_MAX_EPOCHS, factor=3, hyperband_iterations=1, **common)
        oracle.max_trials = params.max_trials  # Hyperband's own count is by brackets; ours caps it
    oracle.verbose = 0
    declare_space(oracle.hyperparameters, params.search_space, params.families)
    if params.defaults_first and params.oracle != "hyperband":
        _propose_defaults_first(oracle, params)
    if project_dir is not None:
        oracle._set_project_dir(project_dir, "oracle")
        if os.path.exists(os.path.join(project_dir, "oracle", "oracle.json")):
            oracle.reload()
    return oracle


def _propose_defaults_first(oracle, params: Params) -> None:
    """Makes `oracle` propose each family's defaults (one point without a `family` choice)
    before its own points; a point already tried (a resumed search) is not proposed again."""
    family = next((p for p in oracle.hyperparameters.space if p.name == "family"), None)
    families = [None] if family is None else [family.default, *(f for f in family.values if f != family.default)]
    points = [default_values(params.search_space, None if f is None else [f]) for f in families]
    own = oracle.populate_space

    def populate_space(trial_id):
        for values in points:
            if not oracle._duplicate(values):
                return {"status": "RUNNING", "values": values}
        return own(trial_id)

    oracle.populate_space = populate_space


def _budget(params: Params, steps: int) -> dict:
    """A trial's `sluice.modeling.fitting.Budget`, as a dict."""
    return {
        "steps": steps,
        "batch_size": params.batch_size,
        "eval_every_steps": min(params.eval_every_steps, steps),
        "early_stopping_patience": params.early_stopping_patience,
    }


def _run_trial(oracle, trial, params: Params, transform: Artifact, models_dir: str | os.PathLike, trials: TrialProcess) -> None:
    from components.tuner.trial import TrialRequest

    values = dict(trial.hyperparameters.values)
    epochs = values.get("tuner/epochs")
    steps = params.trial_steps if epochs is None else max(1, params.trial_steps * epochs // _HYPERBAND_MAX_EPOCHS)
    request = TrialRequest(
        model_fn=params.model_fn,
        transform_uri=transform.uri,
        label=params.label,
        values={k: v for k, v in values.items() if not k.startswith("tuner/")},
        budget=_budget(params, steps),
        seed=params.seed,
        folds=params.folds,
        model_dir=os.path.join(models_dir, trial.trial_id),
        task=params.task,
    )
    reply = trials.run(request)
    if "error" in reply:
        trial.status, trial.message = "FAILED", reply["error"]
    else:
        measured = {**reply["metrics"], **{key: reply[key] for key in _COST_AND_TIME}}
        oracle.update_trial(trial.trial_id, {k: float(v) for k, v in measured.items() if isinstance(v, (int, float))})
        trial.status = "COMPLETED"
    try:
        oracle.end_trial(trial)
    except RuntimeError as error:  # keras-tuner's limit of consecutive failed trials
        raise SearchStopped(str(error)) from error


def _trial_records(oracle) -> list[dict]:
    records = []
    for trial_id in sorted(oracle.trials):
        trial = oracle.trials[trial_id]
        metrics = {name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics}
        records.append(
            {
                "trial_id": trial.trial_id,
                "status": str(trial.status),
                "score": trial.score,
                "hyperparameters": {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")},
                "metrics": {k: v for k, v in metrics.items() if k not in _COST_AND_TIME},
                **{key: metrics.get(key) for key in _COST_AND_TIME},
                "error": trial.message,
            }
        )
    return records


def _best_so_far(oracle, objective: str) -> str:
    """"best log_loss 0.4079 (trial 00, gradient_boosted_trees)", and how many trials failed."""
    # keras-tuner ranks failed trials too, with no score: only scored ones count here.
    best = [trial for trial in oracle.get_best_trials(len(oracle.trials)) if trial.score is not None][:1]
    failed = sum(str(t.status) == "FAILED" for t in oracle.trials.values())
    text = "no trial completed yet"
    if best:
        family = best[0].hyperparameters.values.get("family")
        text = f"best {objective} {best[0].score:.4f} (trial {best[0].trial_id}{', ' + family if family else ''})"
    return text + (f"; {failed} failed" if failed else "")


def _trial_errors(trials: list[dict]) -> str:
    lines = [f"trial {t['trial_id']} {t['status']}: {t['error']}" for t in trials]
    return "\n  ".join(lines) or "no trial ran"


def _train_baselines(params: Params, transform: Artifact) -> dict[str, Any]:
    """The task's constant model (majority class, or mean) and linear model, scored like the
    trials (in a child process of their own)."""
    from components.tuner.trial import TrialRequest
    from sluice.modeling.baselines import BASELINES

    request = TrialRequest(
        model_fn="",
        transform_uri=transform.uri,
        label=params.label,
        values={},
        budget=_budget(params, params.trial_steps),
        seed=params.seed,
        folds=params.folds,
        task=params.task,
    )
    baselines = BASELINES[params.task]
    with TrialProcess() as trials:
        records = [
            trials.run(dataclasses.replace(request, model_fn=f"sluice.modeling.baselines:{function}")) for function in baselines.values()
        ]
    return {name: record.get("metrics", record) for name, record in zip(baselines, records)}


def _request_fingerprint(params: Params, transform: Artifact) -> str:
    """What a search's trials depend on; the time budget and worker count may change on resume."""
    settings = {k: v for k, v in dataclasses.asdict(params).items() if k not in ("max_minutes", "workers")}
    text = json.dumps({"params": settings, "transform": transform.fingerprint}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _write_files(output: ArtifactDraft, values: dict, trials: list) -> None:
    with open(output.file(HYPERPARAMETERS_FILE), "w") as handle:
        json.dump(values, handle, indent=2, sort_keys=True)
    with open(output.file(TRIALS_FILE), "w") as handle:
        json.dump(trials, handle, indent=2, default=str)


def _work() -> None:
    """A worker process of a parallel search: trials from the chief's oracle until it stops."""
    from sluice.artifacts import read_artifact
    from sluice.process import exit_now, quiet_library_noise
    from components.tuner.search import oracle_client

    quiet_library_noise()
    request = json.loads(sys.stdin.read())
    params = Params(**request["params"])
    transform = read_artifact(request["transform_uri"])
    deadline = None if request["seconds_left"] is None else time.monotonic() + request["seconds_left"]
    chief = oracle_client(make_oracle(params, None))
    with TrialProcess() as trials:
        run_one = lambda o, t: _run_trial(o, t, params, transform, request["models_dir"], trials)  # noqa: E731
        trial_loop(chief, os.environ["KERASTUNER_TUNER_ID"], run_one, deadline)
    exit_now(0)


SPEC = ComponentSpec(run=run, params=Params, output=HyperParameters, inputs={"transform": TransformGraph}, summary=summary)


if __name__ == "__main__":
    _work()
