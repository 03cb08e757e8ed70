"""Running a keras-tuner oracle's trials: alone, or as the chief of worker processes.

One loop asks the oracle for trials and runs them (`trial_loop`). With one worker the
loop runs in the search process against the oracle itself. With several, the search
process serves the oracle on loopback with keras-tuner's own chief service, and each
worker process runs the same loop against keras-tuner's `OracleClient`
(KERASTUNER_ORACLE_IP/PORT and KERASTUNER_TUNER_ID, as keras-tuner's chief/worker mode
sets them).

`SearchState` keeps the oracle's files resumable: keras-tuner rewrites its JSON files in
place, so a kill can leave one half written; the snapshot, replaced whole after each
finished trial, never is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from sluice.process import die_with_parent

_POLL_SECONDS = 0.5


def trial_loop(oracle, tuner_id: str, run_one: Callable, deadline: float | None, after_trial: Callable[[], None] = lambda: None) -> int:
    """Runs the oracle's trials until it stops or `deadline` (time.monotonic()) passes.

    `run_one(oracle, trial)` trains, reports and ends one trial. Returns the trials run.
    """
    ran = 0
    while deadline is None or time.monotonic() < deadline:
        trial = oracle.create_trial(tuner_id)
        if trial.status == "STOPPED":
            break
        if trial.status == "IDLE":  # e.g. Hyperband waiting on a bracket another worker runs
            time.sleep(_POLL_SECONDS)
            continue
        run_one(oracle, trial)
        ran += 1
        after_trial()
    return ran


class SearchState:
    """The oracle's files of a search in progress, and their last consistent snapshot."""

    def __init__(self, home: Path, fingerprint: str):
        self.home = Path(home)
        self.live = self.home / "live"
        self.models = self.home / "models"  # trained models kept by trials (`TrialRequest.model_dir`)
        self._state = self.home / "state"
        self._fingerprint = fingerprint

    def restore(self) -> str:
        """Prepares the live directory from the last snapshot of this same search; returns it."""
        owner = self.home / "fingerprint"
        if self.home.exists() and (not owner.exists() or owner.read_text() != self._fingerprint):
            shutil.rmtree(self.home)  # another search's state: never resume from it
        self.home.mkdir(parents=True, exist_ok=True)
        owner.write_text(self._fingerprint)
        if self.live.exists():
            shutil.rmtree(self.live)
        previous = self._state if self._state.exists() else self.home / "state.old"
        if previous.exists():
            shutil.copytree(previous, self.live)
        else:
            self.live.mkdir()
        return str(self.live)

    def snapshot(self) -> None:
        incoming, old = self.home / "state.incoming", self.home / "state.old"
        shutil.rmtree(incoming, ignore_errors=True)
        shutil.copytree(self.live, incoming)
        if self._state.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.rename(self._state, old)
        os.rename(incoming, self._state)
        shutil.rmtree(old, ignore_errors=True)

    def move_into(self, destination: str) -> None:
        """Moves the oracle's files to `destination`, and the kept models to `destination/models`."""
        shutil.rmtree(destination, ignore_errors=True)
        shutil.move(str(self.live), destination)
        if self.models.exists():
            shutil.move(str(self.models), os.path.join(destination, "models"))
        shutil.rmtree(self.home)


class SearchStopped(Exception):
    """The oracle refused to go on (keras-tuner's limit of consecutive failed trials)."""


def run_with_workers(oracle, workers: int, worker_module: str, request: dict, after_trial: Callable[[], None]) -> None:
    """Serves `oracle` on loopback and runs `workers` processes of `python -m worker_module`.

    Each worker gets `request` as JSON on stdin and KERASTUNER_* variables naming the
    chief and its own tuner id; it is expected to run `trial_loop` against an
    `OracleClient`. Returns when every worker has ended.

    Raises:
        SearchStopped: the oracle stopped the search after too many failed trials.
        RuntimeError: a worker died.
    """
    server, servicer = _serve(oracle, after_trial)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        processes = []
        for index in range(workers):
            env = {
                **os.environ,
                "KERASTUNER_ORACLE_IP": "127.0.0.1",
                "KERASTUNER_ORACLE_PORT": str(port),
                "KERASTUNER_TUNER_ID": f"tuner{index}",
            }
            process = subprocess.Popen(
                [sys.executable, "-m", worker_module], stdin=subprocess.PIPE, text=True, env=env, preexec_fn=die_with_parent()
            )
            process.stdin.write(json.dumps(request))
            process.stdin.close()
            processes.append(process)
        codes = [process.wait() for process in processes]
    finally:
        server.stop(grace=None)
    if servicer.stopped is not None:
        raise SearchStopped(str(servicer.stopped))
    if any(codes):
        raise RuntimeError(f"tuner workers ended with exit codes {codes}")


def oracle_client(local_oracle):
    """keras-tuner's client of the chief's oracle, for a worker process."""
    from keras_tuner.src.distribute.oracle_client import OracleClient

    return OracleClient(local_oracle)


def _serve(oracle, after_trial: Callable[[], None]):
    """A gRPC server (not started) with keras-tuner's oracle service over `oracle`."""
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer
    from keras_tuner.src.engine import trial as trial_module

    class Servicer(OracleServicer):
        stopped: Exception | None = None

        def CreateTrial(self, request, context):  # noqa: N802 (gRPC's name)
            if self.stopped is not None:
                trial = trial_module.Trial(self.oracle.get_space(), status="STOPPED")
                return protos.get_service().CreateTrialResponse(trial=trial.to_proto())
            return super().CreateTrial(request, context)

        def EndTrial(self, request, context):  # noqa: N802
            try:
                response = super().EndTrial(request, context)
            except RuntimeError as error:  # too many failed trials: let the workers stop
                self.stopped = error
                response = protos.get_service().EndTrialResponse()
            after_trial()
            return response

    # One thread: the oracle sees one request at a time, as keras-tuner's chief does.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = Servicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    return server, servicer
