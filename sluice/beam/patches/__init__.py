"""Speed-ups of Beam, TFDV, tfx-bsl and TensorFlow internals, each applied only where it was tested.

Every patch is listed in `PATCHES` with the library versions it was tested with. On any
other version it steps aside (one log line per process) and the library behaves as
shipped. `SLUICE_LIBRARY_PATCHES=off` in the environment (`sluice run
--no-library-patches` sets it) turns every patch off, in this process and in the child
processes and Airflow tasks that inherit the environment; `off:NAME,...` turns off only
the patches named (to find which one matters). Set it before the first Beam step: a
patch already installed in a process stays.

Importing this module imports no library: Beam's modules are patched by `install`.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import Mapping

SWITCH_ENV = "SLUICE_LIBRARY_PATCHES"
_OFF = ("off", "0", "false", "no")
_LOG = logging.getLogger(__name__)
_TESTED = {"apache-beam": "2.67.0", "tensorflow-data-validation": "1.16.1", "tfx-bsl": "1.16.1"}
_TESTED_MODELS = {
    "tensorflow": "2.16.2", "tf-keras": "2.16.0", "tensorflow-decision-forests": "1.9.2", "tensorflow-transform": "1.16.0",
}


@dataclass(frozen=True)
class Patch:
    """A speed-up of library internals: `module` holds it, `install()` puts it in place
    (idempotent) where the module has one."""

    name: str
    tested_with: Mapping[str, str]
    module: str
    what: str = ""


PATCHES: dict[str, Patch] = {
    patch.name: patch
    for patch in (
        Patch(
            "introspection",
            {"apache-beam": _TESTED["apache-beam"]},
            "sluice.beam.patches.introspection",
            "Beam's get_signature, get_dofn_specs and PipelineOptions.view_as, remembered",
        ),
        Patch(
            "record_batch_coder",
            _TESTED,
            "sluice.beam.patches.record_batch_coder",
            "record batches coded as Arrow IPC and sized by nbytes, also inside hot-key fan-out",
        ),
        Patch(
            "warm_workers",
            {"apache-beam": _TESTED["apache-beam"]},
            "sluice.beam.warm_workers",
            "DirectRunner multi_processing on workers started with the step",
        ),
        Patch(
            "pickle_compression",
            {"apache-beam": _TESTED["apache-beam"]},
            "sluice.beam.patches.pickle_compression",
            "Beam's pickled functions left uncompressed while a job runs in this process (DirectRunner in_memory)",
        ),
        Patch(
            "equi_width_histogram",
            {"tensorflow-data-validation": _TESTED["tensorflow-data-validation"]},
            "sluice.beam.patches.equi_width_histogram",
            "TFDV's equi-width histograms computed on arrays, not by walking 10,000 protobuf buckets",
        ),
        Patch(
            "autograph_rules",
            _TESTED_MODELS,
            "sluice.beam.patches.autograph_rules",
            "AutoGraph leaves tf_keras, TF-DF and TF Transform functions as written, as TensorFlow's rules leave keras",
        ),
    )
}

_reported: set[str] = set()


def switched_off(name: str) -> bool:
    """True when the environment turns patch `name` off (`off`, or `off:` naming it)."""
    value = os.environ.get(SWITCH_ENV, "").strip().lower()
    if value in _OFF:
        return True
    if not value.startswith("off:"):
        return False
    named = {part.strip() for part in value[len("off:") :].split(",") if part.strip()}
    unknown = named - set(PATCHES)
    if unknown:
        raise ValueError(f"{SWITCH_ENV}={value}: no library patch {sorted(unknown)}; there are {sorted(PATCHES)}")
    return name in named


@lru_cache(maxsize=None)
def _installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def installed_versions() -> dict[str, str | None]:
    """The installed version of every library a patch is tested with (None: not installed)."""
    names = sorted({name for patch in PATCHES.values() for name in patch.tested_with})
    return {name: _installed_version(name) for name in names}


def active(name: str, versions: Mapping[str, str | None] | None = None) -> bool:
    """Whether patch `name` applies: the switch is on and `versions` (default: the
    installed ones) are those it was tested with. Says why not, once per process."""
    patch = PATCHES[name]
    if switched_off(name):
        _report(name, logging.INFO, f"library patch {name!r} off ({SWITCH_ENV}={os.environ[SWITCH_ENV]}): the libraries' own behaviour applies")
        return False
    found = {library: (versions if versions is not None else installed_versions()).get(library) for library in patch.tested_with}
    differing = {library: version for library, version in found.items() if version != patch.tested_with[library]}
    if differing:
        tested = ", ".join(f"{library} {version}" for library, version in patch.tested_with.items())
        have = ", ".join(f"{library} {version or 'not installed'}" for library, version in differing.items())
        _report(name, logging.WARNING, f"library patch {name!r} steps aside: tested with {tested}, found {have}; the libraries' own behaviour applies")
        return False
    return True


def install(name: str) -> bool:
    """Installs patch `name` if it is `active`; returns whether it is in place."""
    if not active(name):
        return False
    install_in_place = getattr(importlib.import_module(PATCHES[name].module), "install", None)
    if install_in_place is not None:  # warm_workers has none: `new_pipeline` asks `active`
        install_in_place()
    return True


def install_process_patches() -> None:
    """Installs the patches a process applies once, before it builds a Beam job."""
    install("introspection")
    if "tensorflow_data_validation" in sys.modules:  # a statistics job; importing TFDV here would bring TensorFlow into every job
        install("equi_width_histogram")


def job_runs_in_process(in_process: bool) -> None:
    """Says whether the Beam job now being built runs in this process (DirectRunner in_memory)."""
    if install("pickle_compression"):
        from sluice.beam.patches.pickle_compression import job_in_process

        job_in_process(in_process)


def install_model_patches() -> None:
    """Installs the patches of model training and export (before any is traced)."""
    install("autograph_rules")


def prepare(pipeline) -> None:
    """Applies the patches that act on a built pipeline; call it just before running it."""
    if install("record_batch_coder"):
        from sluice.beam.patches.record_batch_coder import type_record_batch_edges

        type_record_batch_edges(pipeline)


def _report(name: str, level: int, message: str) -> None:
    if name not in _reported:
        _reported.add(name)
        _LOG.log(level, message)
