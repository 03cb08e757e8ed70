"""A tiny model built once per session, and servers of it on free loopback ports."""

from __future__ import annotations

import contextlib

import pytest

from tests.sluice.serving.tiny_model import build_tiny_model, push


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """The directory of a tiny exported model (copy it in as a version with `push`)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model") / "export")


@pytest.fixture
def tiny_server(tiny_model, tmp_path):
    """A factory: a running server of the tiny model pushed as version 1 under a fresh base path."""

    @contextlib.contextmanager
    def start(**options):
        from sluice.serving.server import serve_in_thread
        from sluice.serving.service import ServingCore, ServingOptions

        base = tmp_path / "models" / "tiny"
        base.mkdir(parents=True, exist_ok=True)
        if not any(base.iterdir()):
            push(tiny_model, base, 1)
        loader = options.pop("loader", None)
        request_log = options.pop("request_log_object", None)
        settings = ServingOptions(models={"tiny": base}, **{"poll_seconds": 0.1, **options})
        with serve_in_thread(settings, core=ServingCore(settings, loader=loader, request_log=request_log)) as server:
            server.wait_ready(timeout=60)
            server.base = base
            yield server

    return start
