"""Beam SDK workers started ahead of their job, for DirectRunner multi_processing.

Beam starts its multi_processing workers when the job's first stage runs, after the
pipeline is built, and each then spends seconds importing Beam and, as it unpickles its
first DoFns, TensorFlow, TFT or TFDV, while the runner waits; a worker whose first bundle
comes later imports them then, in the middle of a data-parallel stage. `WarmWorkers`
starts the processes as a Beam step begins, so they import all of it while the step
builds its pipeline. `warm_workers_runner` runs the job on Beam's own FnApiRunner, as
DirectRunner does in multi_processing mode, with one change: each worker slot the runner
opens is handed to one of those processes. A job DirectRunner would not give the
FnApiRunner (TestStream, Pub/Sub, real-time timers, ...) goes to DirectRunner itself.
This copies DirectRunner's set-up, so it is used only with the Beam version it was
tested with (`sluice.beam.patches`).

How a slot is handed over: the runner starts its worker command, here
`python -m sluice.beam.warm_workers attach DIR`. That short-lived process claims one warm
process (a claim file made with O_EXCL), sends it the environment Beam gave the slot (the
control, logging and options descriptors) over that process's Unix socket, and waits for
the worker's exit code, which it exits with, so the runner sees what a worker of its own
would report. With no warm process left to claim, it becomes Beam's own worker.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import time
import weakref
from typing import Sequence

STANDARD_WORKER = "apache_beam.runners.worker.sdk_worker_main"
_CONNECT_SECONDS = 120.0


class WarmWorkers:
    """`count` worker processes, started now, each importing `imports` and then waiting
    for one Beam worker slot."""

    def __init__(self, count: int, imports: Sequence[str] = ()):
        import subprocess
        import tempfile

        self.directory = tempfile.mkdtemp(prefix="sluice-workers-")
        self._processes = [
            subprocess.Popen([sys.executable, "-m", __name__, "serve", _socket_path(self.directory, index), str(os.getpid()), *imports])
            for index in range(count)
        ]
        # A step that fails before its job runs drops these unclaimed: end them then.
        self._end = weakref.finalize(self, _end_workers, self._processes, self.directory)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def command(self) -> str:
        """The worker command that hands a Beam worker slot to one of these processes."""
        import shlex

        return f"{shlex.quote(sys.executable)} -m {__name__} attach {shlex.quote(self.directory)}"  # run by a shell

    def close(self) -> None:
        """Ends the processes no slot claimed, waits for the others, removes the sockets."""
        self._end()


def warm_workers_runner(count: int, imports: Sequence[str] = ()):
    """A Beam runner for DirectRunner multi_processing whose `count` workers start now.

    Call its `close()` once the job has finished or failed (`run_and_count` does).
    """
    from apache_beam.portability import python_urns
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle
    from apache_beam.runners.runner import PipelineRunner

    workers = WarmWorkers(count, imports)

    class WarmFnApiRunner(fn_runner.FnApiRunner):
        def run_via_runner_api(self, pipeline_proto, options):
            for environment in pipeline_proto.components.environments.values():
                if environment.urn == python_urns.SUBPROCESS_SDK:  # multi_processing's workers
                    environment.payload = workers.command().encode("utf-8")
            return super().run_via_runner_api(pipeline_proto, options)

    class WarmWorkersRunner(PipelineRunner):
        def __init__(self):
            super().__init__()
            self.workers = workers

        def run_pipeline(self, pipeline, options):
            if not direct_runner_uses_fn_api_runner(pipeline):
                from apache_beam.runners.direct.direct_runner import DirectRunner

                workers.close()
                return DirectRunner().run_pipeline(pipeline, options)
            # Provisioned as DirectRunner provisions FnApiRunner: workers read the options here.
            encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
            provision = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
            return WarmFnApiRunner(provision_info=provision).run_pipeline(pipeline, options)

        def close(self) -> None:
            workers.close()

    return WarmWorkersRunner()


def direct_runner_uses_fn_api_runner(pipeline) -> bool:
    """Whether Beam's DirectRunner would run `pipeline` on its FnApiRunner: the checks of
    `SwitchingDirectRunner.run_pipeline` (Beam 2.67), which sends other jobs to Prism or
    the BundleBasedDirectRunner."""
    import itertools

    import apache_beam as beam
    from apache_beam.internal.util import ArgumentPlaceholder
    from apache_beam.io.gcp.pubsub import ReadFromPubSub, WriteToPubSub
    from apache_beam.testing.test_stream import TestStream
    from apache_beam.transforms import userstate
    from apache_beam.transforms.core import CombineValuesDoFn
    from apache_beam.transforms.timeutil import TimeDomain

    supported = True

    class Visitor(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            nonlocal supported
            if isinstance(node.transform, (ReadFromPubSub, WriteToPubSub)):
                supported = False

        def visit_transform(self, node):
            nonlocal supported
            transform = node.transform
            if isinstance(transform, TestStream):
                supported = False
            if isinstance(transform, beam.ParDo):
                dofn = transform.dofn
                if isinstance(dofn, CombineValuesDoFn):
                    args, kwargs = transform.raw_side_inputs
                    if any(isinstance(arg, ArgumentPlaceholder) for arg in itertools.chain(args, kwargs.values())):
                        supported = False
                if userstate.is_stateful_dofn(dofn):
                    _, timers = userstate.get_dofn_specs(dofn)
                    if any(timer.time_domain == TimeDomain.REAL_TIME for timer in timers):
                        supported = False

    pipeline.visit(Visitor())
    return supported


def _socket_path(directory: str, index: int) -> str:
    return os.path.join(directory, f"worker-{index}.sock")


def _claim_file(socket_path: str) -> str:
    return socket_path + ".claimed"


def _end_workers(processes, directory: str) -> None:
    import shutil
    import subprocess

    for index, process in enumerate(processes):
        if process.poll() is None and not os.path.exists(_claim_file(_socket_path(directory, index))):
            process.kill()
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    shutil.rmtree(directory, ignore_errors=True)


def _remove_quietly(socket_path: str) -> None:
    """Removes a socket and, once it is the last, its directory."""
    for remove, path in ((os.remove, socket_path), (os.rmdir, os.path.dirname(socket_path))):
        try:
            remove(path)
        except OSError:
            pass


def _serve(socket_path: str, parent_pid: int, imports: Sequence[str]) -> None:
    """A warm worker: listen, import, then run the one Beam worker slot handed over."""
    from sluice.process import exit_now

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(1)
    from apache_beam.runners.worker import sdk_worker_main

    from sluice.beam import patches

    patches.install_process_patches()
    for module in imports:
        try:
            importlib.import_module(module)
        except Exception as error:  # the DoFns that need it will say why
            print(f"sluice warm worker: could not import {module}: {error!r}", file=sys.stderr)
    server.settimeout(1.0)
    while True:
        try:
            connection, _ = server.accept()
            break
        except socket.timeout:
            if os.getppid() != parent_pid:  # the step that started it is gone, uncleaned
                _remove_quietly(socket_path)
                exit_now(0)
    connection.settimeout(None)
    with connection.makefile("rb") as stream:
        os.environ.update(json.loads(stream.readline()))
    code = 0
    try:
        sdk_worker_main.main(sys.argv)
    except BaseException as error:  # reported to the runner as the worker's exit code
        print(f"sluice warm worker: the Beam worker failed: {error!r}", file=sys.stderr)
        code = 1
    try:
        connection.sendall(f"{code}\n".encode())
    finally:
        # Without interpreter teardown, which crashes after TensorFlow (see sluice.process).
        exit_now(code)


def _attach(directory: str) -> None:
    """A Beam worker slot: hand it to a warm worker, or become Beam's own worker."""
    names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
    for name in (name for name in names if name.endswith(".sock")):
        path = os.path.join(directory, name)
        try:
            os.close(os.open(_claim_file(path), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        code = _hand_over(path)
        if code is not None:
            os._exit(code)
    os.execv(sys.executable, [sys.executable, "-m", STANDARD_WORKER])


def _hand_over(socket_path: str) -> int | None:
    """The warm worker's exit code; None if it never listened (the slot goes elsewhere)."""
    deadline = time.monotonic() + _CONNECT_SECONDS
    while True:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(socket_path)
            break
        except OSError:
            connection.close()
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
    with connection:
        connection.sendall((json.dumps(dict(os.environ)) + "\n").encode())
        reply = connection.makefile("rb").readline().strip()
    return int(reply) if reply else 1  # no reply: the worker died


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        _serve(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    elif sys.argv[1] == "attach":
        _attach(sys.argv[2])
