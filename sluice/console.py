"""Where output goes: Sluice's own lines to the console, the libraries' to a log file.

TensorFlow, XLA, TF Decision Forests, Beam, absl, TFDV and Google's client libraries
write notices while a pipeline runs (CUDA factory registrations, TensorRT, oneDNN,
training logs, Python-version warnings), much of it from native code straight to file
descriptors 1 and 2, where no Python filter reaches. `send_library_output_to(log)`
points both descriptors at the log file, so the process and every child it starts (trial
processes, Beam workers) write there, and rebinds `sys.stdout` to a copy of the original
standard output: `print` and `click.echo` still reach the person at the console.
`errors()` is the original standard error, for error messages and progress.

Python-level library output (warnings, `logging`) goes through `sys.stderr`, which still
writes to descriptor 2 and so to the log.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

_state: dict = {"log": None, "errors": None}


def send_library_output_to(log_file: str | os.PathLike, header: str = "") -> Path:
    """Points descriptors 1 and 2 at `log_file` (appended); Sluice's output stays on the console.

    Returns the log file's path. Calling it again moves the output to another file.
    """
    log_file = Path(log_file).resolve()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    if _state["log"] is None:
        sys.stdout = os.fdopen(os.dup(1), "w", buffering=1, encoding=sys.stdout.encoding, errors=sys.stdout.errors)
        _state["errors"] = os.fdopen(os.dup(2), "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace")
    log_fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    _state["log"] = log_file
    sys.stderr.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} {header or ' '.join(sys.argv)}\n")
    sys.stderr.flush()
    return log_file


def log_file() -> Path | None:
    """The file the libraries' output goes to; None when it goes to the console."""
    return _state["log"]


def errors() -> TextIO:
    """The console's standard error: for Sluice's error messages and progress."""
    return _state["errors"] or sys.stderr


def flush() -> None:
    for stream in (sys.stdout, sys.stderr, _state["errors"]):
        if stream is None:
            continue
        try:
            stream.flush()
        except Exception:  # a closed pipe must not hide the real outcome
            pass
