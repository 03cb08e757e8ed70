"""The versions of one served model: which exist on disk, which is served, and how each fared.

TF Serving's default policy, kept here: the highest-numbered version directory present is
the one served. A new higher version is loaded and warmed up beside the served one, and
traffic moves to it only then; when the highest version disappears (`sluice rollback`
moves it aside), the highest remaining one is loaded and served the same way. A version
that fails to load or warm up is reported in the status and never served; the previous
one keeps serving. Names that are not all digits (the Pusher's dot-prefixed staging
directories) are not versions.

`refresh` does the blocking work (loading, warm-up) and is called from a polling thread;
the request path only reads `served`, one attribute, so a request keeps the version it
started with even when a swap happens while it runs.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import Callable

from sluice.serving.loaded_version import LoadedVersion, LoadFailed, load_version, warm_up

log = logging.getLogger(__name__)

# TF Serving's ModelVersionStatus states.
LOADING, AVAILABLE, UNLOADING, END = "LOADING", "AVAILABLE", "UNLOADING", "END"


@dataclasses.dataclass
class VersionStatus:
    state: str
    error: str = ""

    def as_json(self, version: int) -> dict:
        """One entry of TF Serving's GetModelStatusResponse.model_version_status."""
        return {
            "version": str(version),
            "state": self.state,
            "status": {"error_code": "UNKNOWN" if self.error else "OK", "error_message": self.error},
        }


def version_dirs(base_path: Path) -> dict[int, Path]:
    """{version: directory} of the all-digit directories under `base_path`."""
    try:
        return {int(p.name): p for p in base_path.iterdir() if p.name.isdigit() and p.is_dir()}
    except FileNotFoundError:
        return {}


def _fingerprint(path: Path) -> tuple:
    """Changes when a failed version's directory is rewritten, so it is tried again."""
    try:
        return tuple(sorted((str(p.relative_to(path)), p.stat().st_mtime_ns, p.stat().st_size) for p in path.rglob("*")))
    except OSError:
        return ()


class ModelVersions:
    """One model name and its base path (TF Serving's `model_base_path`).

    Args:
        name: the model's name in the URL.
        base_path: the directory holding the numbered versions.
        on_change: called after every status change (metrics), with this object.
        loader: loads and warms up a version (tests may slow it down); raises LoadFailed.
    """

    def __init__(self, name: str, base_path: Path, on_change: Callable[["ModelVersions"], None] = lambda m: None,
                 loader: Callable[[str, int, Path], LoadedVersion] | None = None):
        self.name = name
        self.base_path = Path(base_path)
        self.served: LoadedVersion | None = None
        self.statuses: dict[int, VersionStatus] = {}
        self.load_failures = 0
        self._failed: dict[int, tuple] = {}
        self._on_change = on_change
        self._loader = loader or _load_and_warm_up
        self._lock = threading.Lock()  # one refresh at a time

    def refresh(self) -> LoadedVersion | None:
        """Serves the highest version on disk if it is not served yet; returns the retired
        version (which in-flight requests may still be using), if any."""
        with self._lock:
            present = version_dirs(self.base_path)
            for version in [v for v in self._failed if v not in present]:
                del self._failed[version]
            candidates = sorted(present, reverse=True)
            served = self.served
            for version in candidates:
                if served is not None and version == served.version:
                    return None
                if self._failed.get(version) == _fingerprint(present[version]):
                    continue  # failed before and unchanged: the next lower version is the candidate
                loaded = self._load(version, present[version])
                if loaded is None:
                    continue
                self.served = loaded
                if served is not None:
                    self.statuses[served.version] = VersionStatus(END)
                self._on_change(self)
                log.info("model %s: serving version %d (was %s)", self.name, version, served.version if served else None)
                return served
            return None

    def _load(self, version: int, path: Path) -> LoadedVersion | None:
        self._set(version, VersionStatus(LOADING))
        fingerprint = _fingerprint(path)
        started = time.monotonic()
        try:
            loaded = self._loader(self.name, version, path)
        except LoadFailed as error:
            log.error("model %s: version %d is not served: %s", self.name, version, error)
            self._failed[version] = fingerprint
            self.load_failures += 1
            self._set(version, VersionStatus(END, f"failed to load or warm up: {error}"))
            return None
        log.info("model %s: version %d loaded and warmed up in %.1f s", self.name, version, time.monotonic() - started)
        self._set(version, VersionStatus(AVAILABLE))
        return loaded

    def _set(self, version: int, status: VersionStatus) -> None:
        self.statuses[version] = status
        self._on_change(self)

    def status_json(self, version: int | None = None) -> dict | None:
        """TF Serving's GetModelStatusResponse, or None when `version` is unknown."""
        statuses = dict(self.statuses)
        if version is not None:
            if version not in statuses:
                return None
            statuses = {version: statuses[version]}
        return {"model_version_status": [statuses[v].as_json(v) for v in sorted(statuses, reverse=True)]}


def _load_and_warm_up(name: str, version: int, path: Path) -> LoadedVersion:
    loaded = load_version(name, version, path)
    warm_up(loaded)
    return loaded
