"""What an execution's result depends on, as one key: equal keys, equal artifacts.

The key covers the component's inputs (their artifacts' fingerprints), its settings
(`params_fingerprint`), its code (the sources of the component's module or package, of
every module its parameters name as "module:attribute", and of the sluice package) with
the tracked library versions, and the contents of the local files its parameters name
(ExampleGen's data files, SchemaGen's reviewed schema). A file edited in place, or an
edited preprocessing_fn, gives a new key.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator, Mapping

from sluice.artifacts import Artifact, library_versions

_DOTTED = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_GLOB = re.compile(r"[*?\[]")


def cache_key(spec_module: str, params: Mapping[str, Any], params_fingerprint: str, inputs: Mapping[str, Artifact]) -> tuple[str, dict[str, str]]:
    """The key, and the files the parameters name with their sha256 (for the lineage)."""
    files = external_files(params)
    modules = [spec_module, *(value.partition(":")[0] for value in _strings(params) if _DOTTED.match(value))]
    record = {
        "params": params_fingerprint,
        "inputs": {name: artifact.fingerprint for name, artifact in sorted(inputs.items())},
        "code": {module: _module_source_hash(module) for module in sorted(set(modules))},
        "sluice": _package_hash(str(Path(__file__).resolve().parent.parent)),
        "libraries": library_versions(),
        "files": files,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest(), files


def external_files(params: Mapping[str, Any]) -> dict[str, str]:
    """Local files (or glob matches) named by parameter values -> sha256 of their bytes."""
    found = {}
    for value in _strings(params):
        if "://" in value or not os.path.isabs(value):
            continue
        paths = sorted(glob.glob(value)) if _GLOB.search(value) else [value]
        for path in paths:
            if os.path.isfile(path):
                stat = os.stat(path)
                found[path] = _file_hash(path, stat.st_size, stat.st_mtime_ns)
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


@functools.lru_cache(maxsize=None)
def _file_hash(path: str, _size: int, _mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _module_source_hash(module: str) -> str:
    """A module's source; for a module inside a sub-package (components.transform.component),
    its whole package's, since the module's helpers live beside it."""
    loaded = sys.modules.get(module)
    origin = getattr(loaded, "__file__", None)
    if origin is None:
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        origin = found.origin if found is not None else None
    if origin is None or not origin.endswith(".py"):
        return "unknown"
    if module.count(".") >= 2:  # in a sub-package: components.transform.component
        return _package_hash(str(Path(origin).parent))
    return _package_hash(origin)


@functools.lru_cache(maxsize=None)
def _package_hash(path: str) -> str:
    root = Path(path)
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()
