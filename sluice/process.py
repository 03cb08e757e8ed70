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
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe must not change the exit code
            pass
    os._exit(code)


def quiet_library_noise() -> None:
    """Silences start-up notices that say nothing about the run.

    Python 3.11 end-of-life and grpcio notices from Google client libraries, and
    TensorFlow's CPU/CUDA build messages; warnings and errors still show.
    """
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\..*")
