"""Beam's pickled functions kept uncompressed while the job being built runs in this process.

Beam pickles every DoFn, CombineFn and side-input view of a job and compresses each
pickle with bz2 at its highest level, which keeps a job's description small for remote
workers. A DirectRunner in_memory job never leaves the process, yet Beam pickles its
functions at construction and again in each bundle processor, and unpickles them as often:
on census, about 1.3 s of bz2 per run.

The pickler's `bz2` is replaced by `_Bz2`. Whether the job being built runs in this
process is said by `sluice.beam.jobs.pipeline_options` for every job's options, and unsaid
by `run_and_count` when the job ends (jobs are built and run one at a time per process).
While it does, pickles are stored as they are, behind a marker that no bz2 stream starts
with; pickles of other jobs (Dataflow, DirectRunner multi_processing, whose workers are
other processes), and of any job built between two, are compressed as Beam does.
Reading accepts both, so a pickle made under either setting still loads.

It rebinds a module attribute of Beam's picklers, so it is installed only through
`sluice.beam.patches` (gated to the Beam version it was tested with).
"""

from __future__ import annotations

MARKER = b"SLUICE-UNCOMPRESSED-PICKLE\n"  # bz2 streams start with b"BZh"
_job_in_process = False


def job_in_process(in_process: bool) -> None:
    """Says whether the job now being built (and run) runs in this process."""
    global _job_in_process
    _job_in_process = in_process


class _Bz2:
    """The `bz2` a Beam pickler sees: compression skipped for a job in this process."""

    def __init__(self, bz2):
        self._bz2 = bz2

    def compress(self, data, compresslevel: int = 9) -> bytes:
        if _job_in_process:
            return MARKER + bytes(data)
        return self._bz2.compress(data, compresslevel)

    def decompress(self, data) -> bytes:
        data = bytes(data)
        if data.startswith(MARKER):
            return data[len(MARKER) :]
        return self._bz2.decompress(data)

    def __getattr__(self, name):
        return getattr(self._bz2, name)


def install() -> None:
    import importlib

    for name in ("apache_beam.internal.cloudpickle_pickler", "apache_beam.internal.dill_pickler"):
        try:
            module = importlib.import_module(name)
        except ImportError:  # dill is optional in Beam
            continue
        if not isinstance(module.bz2, _Bz2):
            module.bz2 = _Bz2(module.bz2)
