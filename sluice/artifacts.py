"""Artifacts: directories with an `artifact.json` beside their payload.

A component writes into a hidden temporary directory next to its final place and renames
it into place only when the payload and `artifact.json` are complete, so a crash never
leaves a directory that looks like a finished artifact, and an existing artifact is never
overwritten.

Run layout: `<root>/<pipeline>/<run_id>/<component>/`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Mapping

import pydantic

from sluice.errors import SluiceError

ARTIFACT_FILE = "artifact.json"

_TRACKED_LIBRARIES = (
    "sluice",
    "tensorflow",
    "tensorflow-transform",
    "tensorflow-data-validation",
    "tfx-bsl",
    "apache-beam",
    "keras",
    "keras-tuner",
)


class ArtifactError(SluiceError):
    """An artifact is missing, incomplete, or would overwrite an existing one."""


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A finished artifact directory and what its `artifact.json` says about it."""

    uri: str
    type: str
    producer: str
    properties: Mapping[str, Any]
    fingerprint: str
    inputs: Mapping[str, str]

    @property
    def path(self) -> Path:
        return Path(self.uri)

    def file(self, *parts: str) -> str:
        """Path of a payload file inside the artifact, as a string for TF/Beam APIs."""
        return str(self.path.joinpath(*parts))


def a_type(name: str) -> str:
    """"a Schema", "an Examples": an artifact type's name for a message."""
    return f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}"


class ArtifactProperties(pydantic.BaseModel):
    """The properties one type of artifact records, typed; the class name is the type's name.

    The component that writes the artifact fills one in (`write`); each reader reads it
    back (`of`) instead of indexing `artifact.properties` by string keys, so writer and
    readers agree in one place. Keys the type does not declare (the run's
    `params_fingerprint`, say) are kept in artifact.json but not in the view.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def of(cls, artifact: Artifact):
        """The view of `artifact`'s properties; raises ArtifactError when they do not fit."""
        if artifact.type != cls.type_name():
            raise ArtifactError(f"{artifact.uri} is {a_type(artifact.type)} artifact, not {a_type(cls.type_name())}")
        try:
            return cls.model_validate(artifact.properties)
        except pydantic.ValidationError as error:
            raise ArtifactError(f"{artifact.uri}: its properties are not those of {a_type(cls.type_name())}: {error}") from None

    def write(self, output: ArtifactDraft) -> None:
        """Records these properties in the artifact being written."""
        output.properties.update(self.model_dump(mode="json"))


def read_artifact(uri: str | os.PathLike) -> Artifact:
    """Loads a finished artifact; raises ArtifactError if `uri` is not one."""
    path = Path(uri)
    record_path = path / ARTIFACT_FILE
    if not record_path.is_file():
        raise ArtifactError(f"{path} is not a finished artifact: it has no {ARTIFACT_FILE}")
    record = json.loads(record_path.read_text())
    return Artifact(
        uri=str(path),
        type=record["type"],
        producer=record["producer"],
        properties=record.get("properties", {}),
        fingerprint=record["fingerprint"],
        inputs={name: value["fingerprint"] for name, value in record.get("inputs", {}).items()},
    )


def latest_artifact(
    pipeline_dir: str | os.PathLike, component: str, *, exclude_run: str | os.PathLike | None = None
) -> Artifact | None:
    """The most recently sealed `component` artifact among a pipeline's runs (but `exclude_run`)."""
    pipeline_dir = Path(pipeline_dir)
    if not pipeline_dir.is_dir():
        return None
    excluded = Path(exclude_run) if exclude_run else None
    candidates = [
        run / component
        for run in pipeline_dir.iterdir()
        if run != excluded and (run / component / ARTIFACT_FILE).is_file()
    ]
    if not candidates:
        return None
    return read_artifact(max(candidates, key=lambda p: (p / ARTIFACT_FILE).stat().st_mtime))


def fingerprint_dir(path: str | os.PathLike) -> str:
    """sha256 over every payload file's relative path and bytes (artifact.json excluded)."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = file.relative_to(root).as_posix()
        if relative == ARTIFACT_FILE:
            continue
        digest.update(relative.encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def draft_prefix(name: str) -> str:
    """The start of the name of a draft of artifact `name`; the writer's pid@host follows."""
    return f".{name}.draft-"


_DRAFT_OWNER = re.compile(r"\.draft-(?P<pid>\d+)@(?P<host>.+)-[a-z0-9_]+$")


def remove_abandoned_drafts(run_dir: str | os.PathLike) -> list[Path]:
    """Deletes the drafts in `run_dir` whose writer is gone (a killed attempt's); returns them.

    A draft names its writer (pid@host); one of this host whose process is dead, or one
    from before drafts named their writer, is abandoned. Drafts of live writers (another
    task of the same run, say) stay.
    """
    from sluice.process import process_alive

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    removed = []
    for entry in run_dir.glob(".*.draft-*"):
        owner = _DRAFT_OWNER.search(entry.name)
        if owner is None or (owner["host"] == socket.gethostname() and not process_alive(int(owner["pid"]))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def library_versions() -> dict[str, str]:
    versions = {}
    for name in _TRACKED_LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


@contextlib.contextmanager
def write_artifact(
    uri: str | os.PathLike,
    *,
    type: str,
    producer: str,
    inputs: Mapping[str, Artifact] | None = None,
) -> Iterator[ArtifactDraft]:
    """Opens a draft artifact; on clean exit it is sealed and renamed to `uri`.

    The body writes payload files under `draft.path` and sets `draft.properties`.
    On an exception the draft is deleted and nothing appears at `uri`.

    Raises:
        ArtifactError: `uri` already exists (finished artifacts are never overwritten).
    """
    final = Path(uri)
    if final.exists():
        raise ArtifactError(f"{final} already exists; artifacts are never overwritten")
    final.parent.mkdir(parents=True, exist_ok=True)
    draft_dir = Path(tempfile.mkdtemp(prefix=f"{draft_prefix(final.name)}{os.getpid()}@{socket.gethostname()}-", dir=final.parent))
    draft = ArtifactDraft(draft_dir, final)
    try:
        yield draft
        started = draft.started
        record = {
            "type": type,
            "producer": producer,
            "properties": draft.properties,
            "fingerprint": fingerprint_dir(draft_dir),
            "inputs": {
                name: {"uri": artifact.uri, "fingerprint": artifact.fingerprint}
                for name, artifact in (inputs or {}).items()
            },
            "library_versions": library_versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(time.monotonic() - started, 3),
        }
        (draft_dir / ARTIFACT_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        try:
            os.rename(draft_dir, final)
        except OSError as error:
            raise ArtifactError(f"{final} appeared while it was being written") from error
    finally:
        if draft_dir.exists():
            shutil.rmtree(draft_dir, ignore_errors=True)


class ArtifactDraft:
    """An artifact being written: a payload directory and the properties to record.

    `final_path` is where the artifact will appear once sealed (`<run_dir>/<component>`).
    """

    def __init__(self, path: Path, final_path: Path):
        self.path = path
        self.final_path = final_path
        self.properties: dict[str, Any] = {}
        self.started = time.monotonic()

    def file(self, *parts: str) -> str:
        target = self.path.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return str(target)
