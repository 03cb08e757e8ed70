"""Leaving the process with the right exit code.

A process that ran a TFT pipeline crashes (SIGSEGV, exit code 139) while the interpreter
tears down TensorFlow and Beam objects, after all work is done and written. Every Sluice
entry point that may have run TFT leaves through `exit_now`, which flushes and exits
without that teardown, so callers see the real result.
"""

from __future__ import annotations

import os
import sys


def exit_now(code: int) -> None:
    """Flushes stdout/stderr and ends the process with `code`, skipping interpreter teardown."""
    from sluice import console

    console.flush()
    os._exit(code)


# Google's client libraries warn at import that Python 3.11 nears its end of life.
_PYTHON_VERSION_WARNING = "ignore::FutureWarning:google.api_core._python_version_support"


def quiet_library_noise() -> None:
    """Silences notices that say nothing about the run, here and in child processes.

    Python 3.11 end-of-life notices from Google client libraries, TensorFlow's INFO lines
    (CPU build, oneDNN) and gRPC's notices below errors; TensorFlow's warnings and errors still
    show (with `sluice.console`, in the log file). Set through the environment, so child
    processes are quiet from their first import.
    """
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    inherited = os.environ.get("PYTHONWARNINGS", "")
    if _PYTHON_VERSION_WARNING not in inherited.split(","):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [inherited, _PYTHON_VERSION_WARNING]))
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\..*")


def call_in_child(module: str, request: dict) -> dict:
    """Runs `python -m module` in a fresh process with `request`; returns its reply.

    The child (see `answer_parent`) reads the request as JSON on stdin and writes its
    reply to a file, so its own output goes where this process's goes (the console, or
    the log file `sluice.console` sends the libraries' output to). A
    child that raised replies {"error": "Type: message"}; one that died without a reply
    gives {"error": "... exit code N"}.
    """
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    remove_abandoned_scratch()
    with tempfile.TemporaryDirectory(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-") as scratch:
        reply_file = Path(scratch) / "reply.json"
        completed = subprocess.run(
            [sys.executable, "-m", module],
            input=json.dumps({**request, "reply_file": str(reply_file)}),
            text=True,
            preexec_fn=die_with_parent(),
        )
        reply = json.loads(reply_file.read_text()) if reply_file.exists() else {}
    if "error" not in reply and (completed.returncode != 0 or not reply):
        return {"error": f"the child process ended with exit code {completed.returncode} and no reply"}
    return reply


_SCRATCH_PREFIX = "sluice-child-"


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs on this host (a zombie, killed and not yet waited for, does not)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def die_with_parent():
    """A `preexec_fn` by which the child is killed when the process that started it dies,
    so a killed run leaves no worker behind (Linux; None elsewhere).

    Bound here, in the parent: between fork and exec the child may only make the call
    (no import, no lookup), as other threads of the parent may hold locks.
    """
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    kill = signal.SIGKILL.value
    return lambda: prctl(1, kill)  # PR_SET_PDEATHSIG


def remove_abandoned_scratch() -> None:
    """Deletes the scratch directories `call_in_child` left in the temp dir when killed."""
    import re
    import shutil
    import tempfile
    from pathlib import Path

    pattern = re.compile(rf"^{_SCRATCH_PREFIX}(\d+)-")
    for entry in Path(tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*"):
        owner = pattern.match(entry.name)
        if owner and not process_alive(int(owner.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def answer_parent(handle) -> None:
    """The child side of `call_in_child`: replies with `handle(request)` (a JSON-friendly
    dict) or the error it raised, then leaves (TFT-safe)."""
    import json
    import traceback
    from pathlib import Path

    quiet_library_noise()
    request = json.loads(sys.stdin.read())
    reply_file = request.pop("reply_file")
    try:
        reply, code = handle(request), 0
    except Exception as error:
        traceback.print_exc()
        reply, code = {"error": f"{type(error).__name__}: {error}"}, 1
    Path(reply_file).write_text(json.dumps(reply))
    exit_now(code)
