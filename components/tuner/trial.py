"""One trial of a model search: build the model of one point of the space, train, score.

Trials run in a child process, `TrialProcess`, so whatever they allocate (TensorFlow
graphs, Keras state, forests) goes back to the system with it and a long search does not
grow. The process runs trials one after another, so TensorFlow is imported once for
several trials rather than once a trial (about 4 s each, often longer than the trial),
and it is replaced after `TRIALS_PER_PROCESS` trials or once it holds `MAX_RSS_BYTES`.
Each trial seeds every generator afresh, so it scores as it would in a fresh process.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, Mapping

from sluice.modeling.fitting import Budget


@dataclasses.dataclass(frozen=True)
class TrialRequest:
    """Everything a trial needs, JSON-friendly.

    Args:
        model_fn: "module:function" building a model from (values, ModelFeatures, seed).
        transform_uri: the Transform artifact holding the transformed splits.
        label: the label's transformed feature name.
        values: hyperparameter name -> value.
        budget: a `Budget` as a dict.
        seed: drives initialisation, shuffling and the forests' sampling.
        folds: 1 for holdout (train on train, score on eval), K for K-fold over train.
        model_dir: where to keep the trained model when the Trainer would train the very
            same one (a one-pass family under holdout), so it is reused, not trained again.
        task: "binary", "multiclass" or "regression": the model's head and metrics.
    """

    model_fn: str
    transform_uri: str
    label: str
    values: Mapping[str, Any]
    budget: Mapping[str, Any]
    seed: int
    folds: int = 1
    model_dir: str | None = None
    task: str = "binary"


def run_trial(request: TrialRequest) -> dict[str, Any]:
    """Trains and scores one model; returns its metrics, size, latency, seconds and when it ran."""
    from sluice.artifacts import read_artifact
    from sluice.modeling.fitting import train_and_score
    from sluice.pipeline import load_object
    from sluice.modeling.datasets import model_features

    started, started_at = time.monotonic(), time.time()
    transform = read_artifact(request.transform_uri)
    features = model_features(transform, request.label, request.task)
    build = load_object(request.model_fn)
    model, record = train_and_score(
        lambda: build(dict(request.values), features, request.seed),
        transform,
        request.label,
        Budget(**request.budget),
        request.seed,
        folds=request.folds,
        task=request.task,
    )
    if request.model_dir and request.folds <= 1 and record.get("trained_in_one_pass"):
        keep_model(model, request.model_dir)
    return {**record, "seconds": time.monotonic() - started, "started_at": started_at, "ended_at": time.time()}


def keep_model(model, model_dir: str) -> None:
    """Saves a trained model whole, or not at all: written beside `model_dir`, then renamed."""
    import os
    import shutil

    incoming = f"{model_dir}.incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    model.save(incoming)
    shutil.rmtree(model_dir, ignore_errors=True)
    os.rename(incoming, model_dir)


TRIALS_PER_PROCESS = 10
MAX_RSS_BYTES = 2 * 1024**3


class TrialProcess:
    """Runs `run_trial` in a child process kept for several trials (see the module's doc).

    A trial that raises gets {"error": ...}; a process that dies fails only the trial it
    was running, and the next trial gets a new process. Use as a context manager, or call
    `close`.
    """

    def __init__(self, trials_per_process: int = TRIALS_PER_PROCESS, max_rss_bytes: int = MAX_RSS_BYTES):
        self.trials_per_process, self.max_rss_bytes = trials_per_process, max_rss_bytes
        self.processes_started = 0
        self._process = None
        self._replies = None
        self._trials_run = 0

    def run(self, request: TrialRequest) -> dict[str, Any]:
        """`run_trial(request)`'s record, or {"error": ...}."""
        if self._process is None:
            self._start()
        try:
            self._process.stdin.write(json.dumps(dataclasses.asdict(request)) + "\n")
            self._process.stdin.flush()
            line = self._replies.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            code = self._stop(kill=True)
            return {"error": f"the trial process ended with exit code {code} and no reply"}
        self._trials_run += 1
        if self._trials_run >= self.trials_per_process or self._rss() > self.max_rss_bytes:
            self._stop()
        return json.loads(line)

    @property
    def running(self) -> bool:
        """Whether a child process is up, waiting for the next trial."""
        return self._process is not None

    def close(self) -> None:
        if self._process is not None:
            self._stop()

    def __enter__(self) -> TrialProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        import os
        import subprocess
        import sys

        from sluice.process import die_with_parent

        read_end, write_end = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, "--serve", str(write_end)],
                stdin=subprocess.PIPE, text=True, pass_fds=(write_end,), preexec_fn=die_with_parent(),
            )
        finally:
            os.close(write_end)
        self._replies = os.fdopen(read_end, "r")
        self._trials_run = 0
        self.processes_started += 1

    def _stop(self, kill: bool = False) -> int:
        import subprocess

        process, self._process = self._process, None
        try:
            process.stdin.close()
        except OSError:
            pass
        if kill:
            process.kill()
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        self._replies.close()
        return code

    def _rss(self) -> int:
        import psutil

        try:
            return psutil.Process(self._process.pid).memory_info().rss
        except psutil.Error:
            return 0


def _serve_trials(reply_fd: int) -> None:
    """The child side of `TrialProcess`: a request per line of stdin, a record per line to `reply_fd`."""
    import gc
    import os
    import sys

    from sluice.process import exit_now, quiet_library_noise

    quiet_library_noise()
    replies = os.fdopen(reply_fd, "w")
    for line in sys.stdin:
        replies.write(json.dumps(_run_one(json.loads(line))) + "\n")
        replies.flush()
        _release_trial_state()
        gc.collect()
    exit_now(0)


def _release_trial_state() -> None:
    import keras

    keras.backend.clear_session()


def _run_one(request: dict) -> dict[str, Any]:
    """`run_trial`'s record, or {"error": ...} when it raised (the process serves on)."""
    import traceback

    try:
        return run_trial(TrialRequest(**request))
    except Exception as error:
        traceback.print_exc()
        return {"error": f"{type(error).__name__}: {error}"}


if __name__ == "__main__":
    import sys

    _serve_trials(int(sys.argv[2]))  # python -m components.tuner.trial --serve FD
