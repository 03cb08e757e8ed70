"""The versions of a model directory in TF Serving's layout: `<serving_dir>/<version>/`.

TF Serving (and `sluice serve`) load every child of the model directory whose name is an
integer and serve the highest: that one is the *served* version. Any other name is
ignored (TF Serving's FileSystemStoragePathSource skips children that do not parse as
int64), which is why the Pusher stages a copy as `.<version>.incoming-<pid>@<host>` and why
a rollback moves versions aside into `<serving_dir>/.rolled_back/`: neither is ever loaded.
A staging or deleting directory names its writer, so the next push removes those a
killed writer left (`remove_abandoned`).

A rollback therefore never edits a version: it moves every version above the target into
`.rolled_back/<version>` (nothing is deleted), and the target becomes the highest.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import time
from pathlib import Path

from sluice.errors import SluiceError

ROLLED_BACK = ".rolled_back"
_WORK_IN_PROGRESS = re.compile(r"^\.\d+\.(incoming|deleting)(-(?P<pid>\d+)@(?P<host>.+))?$")


class VersionError(SluiceError):
    """A version that is not there, or a rollback with nothing to roll back to."""


def versions(serving_dir: str | Path) -> list[int]:
    """The version numbers present (the children named by digits only), lowest first."""
    serving_dir = Path(serving_dir)
    if not serving_dir.is_dir():
        return []
    return sorted(int(p.name) for p in serving_dir.iterdir() if p.name.isdigit() and p.is_dir())


def served_version(serving_dir: str | Path) -> int | None:
    """The version TF Serving serves: the highest present (None when there is none)."""
    present = versions(serving_dir)
    return present[-1] if present else None


def latest_version(serving_dir: str | Path) -> Path:
    """The served version's directory.

    Raises:
        FileNotFoundError: no version under `serving_dir`.
    """
    served = served_version(serving_dir)
    if served is None:
        raise FileNotFoundError(f"no model version under {serving_dir}")
    return Path(serving_dir) / str(served)


def rolled_back_versions(serving_dir: str | Path) -> list[int]:
    aside = Path(serving_dir) / ROLLED_BACK
    return sorted(int(p.name.split("-")[0]) for p in aside.iterdir() if p.name.split("-")[0].isdigit()) if aside.is_dir() else []


def next_version(serving_dir: str | Path) -> int:
    """A version number above every existing one, rolled-back ones included, so a number
    never names two models (seconds since the epoch when that is higher)."""
    taken = versions(serving_dir) + rolled_back_versions(serving_dir)
    return max([int(time.time())] + [v + 1 for v in taken])


def work_dir(serving_dir: str | Path, version: int, kind: str) -> Path:
    """Where this process stages ("incoming") or deletes ("deleting") a version: a name no
    server loads, which names its writer."""
    return Path(serving_dir) / f".{version}.{kind}-{os.getpid()}@{socket.gethostname()}"


def remove_abandoned(serving_dir: str | Path) -> list[Path]:
    """Deletes the staging and deleting directories whose writer is gone (a killed push's).

    One of this host whose process is dead, or one that does not name its writer, is
    abandoned; those of live writers (another push in progress) stay.
    """
    from sluice.process import process_alive

    serving_dir = Path(serving_dir)
    removed = []
    for entry in serving_dir.glob(".*") if serving_dir.is_dir() else ():
        owner = _WORK_IN_PROGRESS.match(entry.name)
        if owner is None:
            continue
        if owner["pid"] is None or (owner["host"] == socket.gethostname() and not process_alive(int(owner["pid"]))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def retire_old_versions(serving_dir: str | Path, keep: int) -> list[int]:
    """Deletes all but the `keep` highest versions; returns the deleted ones.

    The served version is the highest, so it is always kept. Each version is renamed to a
    dot-name first, so a half-deleted directory is never taken for a version.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1: the served version is never deleted")
    serving_dir = Path(serving_dir)
    retired = versions(serving_dir)[:-keep]
    for version in retired:
        doomed = work_dir(serving_dir, version, "deleting")
        os.rename(serving_dir / str(version), doomed)
        shutil.rmtree(doomed)
    return retired


@dataclasses.dataclass(frozen=True)
class Rollback:
    """What a rollback did: the version now served, and where each version above it went."""

    serving_dir: Path
    served: int
    moved: dict[int, Path]

    def describe(self) -> str:
        lines = [f"{self.serving_dir}: version {self.served} is now served"]
        lines += [f"  moved {v} -> {to} (not deleted)" for v, to in sorted(self.moved.items())]
        return "\n".join(lines)


def rollback(serving_dir: str | Path, to: int | None = None) -> Rollback:
    """Makes version `to` (default: the one below the served one) the served version by
    moving every version above it into `<serving_dir>/.rolled_back/`.

    Raises:
        VersionError: `to` is not a version present, or there is no earlier version.
    """
    serving_dir = Path(serving_dir)
    present = versions(serving_dir)
    if to is None:
        if len(present) < 2:
            raise VersionError(
                f"{serving_dir}: nothing to roll back to ({'only version ' + str(present[0]) if present else 'no version'} present)"
            )
        to = present[-2]
    elif to not in present:
        raise VersionError(f"{serving_dir}: no version {to}; present: {', '.join(map(str, present)) or 'none'}")
    aside = serving_dir / ROLLED_BACK
    aside.mkdir(exist_ok=True)
    moved = {}
    # Lowest first: the served version stays until the last move, so a server polling
    # meanwhile never loads a version between it and the target.
    for version in [v for v in present if v > to]:
        target = aside / str(version)
        copy = 1
        while target.exists():  # the same number rolled back before and pushed again by hand
            target, copy = aside / f"{version}-{copy}", copy + 1
        os.rename(serving_dir / str(version), target)
        moved[version] = target
    return Rollback(serving_dir, to, moved)
