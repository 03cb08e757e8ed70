"""The FastAPI adapter: TF Serving's REST routes, probes and /metrics over a `ServingCore`.

Routes:
    GET  /v1/models/{name}[/versions/{v}]                      model status
    GET  /v1/models/{name}[/versions/{v}]/metadata             signature metadata
    POST /v1/models/{name}[/versions/{v}]:(predict|classify|regress)
    GET  /healthz   liveness: 200 while the process serves HTTP
    GET  /readyz    readiness: 200 once every model has a version loaded and warmed up, else 503
    GET  /metrics   Prometheus text format

Every error is `{"error": message}` with a 4xx status (a 5xx only for a server bug).
Bodies are read here, up to the size limit: a larger Content-Length is refused (413)
before any of the body is read, and a body without one is cut off as soon as it passes
the limit.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from sluice.serving.rest_requests import VERBS
from sluice.serving.service import Answer, ServingCore, error_answer

_GET = re.compile(r"(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<metadata>/metadata)?")
_POST = re.compile(r"(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?:(?P<verb>[^/:]+)")
_JSON = "application/json"
_MODELS = "/v1/models/"


class _TooLarge(Exception):
    pass


def create_app(core: ServingCore, load_before_serving: bool = False):
    """The ASGI app; its lifespan starts and stops `core`.

    With `load_before_serving`, startup ends (and uvicorn accepts connections) only once
    every model's first version has loaded, or failed to: a worker sharing its socket with
    others then takes no request it would answer 404 while they serve.
    """
    import asyncio
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        core.start()
        try:
            if load_before_serving:
                await asyncio.to_thread(core.first_refresh_done.wait)
            yield
        finally:
            core.stop()

    app = FastAPI(title="Sluice serving", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/v1/models/{path:path}")
    async def get_model(path: str) -> Response:
        match = _GET.fullmatch(path)
        if match is None:
            return _respond(error_answer(404, f"no such resource: /v1/models/{path}"[:300]))
        version = _version(match["version"])
        if isinstance(version, Answer):
            return _respond(version)
        if match["metadata"]:
            return _respond(core.metadata(match["name"], version))
        return _respond(core.status(match["name"], version))

    @app.get("/healthz")
    async def liveness() -> Response:
        return Response(b'{"status":"alive"}', media_type=_JSON)

    @app.get("/readyz")
    async def readiness() -> Response:
        if core.ready():
            return Response(b'{"status":"ready"}', media_type=_JSON)
        return Response(b'{"status":"loading"}', status_code=503, media_type=_JSON)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(core.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(HTTPException)
    async def http_error(request, error: HTTPException) -> Response:
        return _respond(error_answer(error.status_code, str(error.detail)))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request, error) -> Response:
        return _respond(error_answer(400, "invalid request"))

    return _InferenceRoute(app, core)


class _InferenceRoute:
    """ASGI: answers `POST /v1/models/...` itself and hands every other request to `app`.

    Inference is the hot path; this skips FastAPI's and Starlette's layers (middleware,
    routing, the Request object) around it. `core.infer` already turns every failure into
    an answer, so those layers' error handling has nothing to add here.
    """

    def __init__(self, app: FastAPI, core: ServingCore):
        self.app, self.core = app, core
        self.limit = core.options.max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(_MODELS):
            return await self.app(scope, receive, send)
        answer = await self._answer(scope["path"][len(_MODELS):], scope, receive)
        if answer is not None:
            await send({"type": "http.response.start", "status": answer.status,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer.body))]})
            await send({"type": "http.response.body", "body": answer.body})

    async def _answer(self, path: str, scope, receive) -> Answer | None:
        """The answer, or None when the client went away before sending its whole body."""
        match = _POST.fullmatch(path)
        if match is None:
            return error_answer(404, f"no such resource: /v1/models/{path} (POST .../models/NAME[/versions/V]:predict, :classify or :regress)"[:300])
        if match["verb"] not in VERBS:
            return error_answer(404, f"unknown method {match['verb'][:100]!r}; expected one of {list(VERBS)}")
        version = _version(match["version"])
        if isinstance(version, Answer):
            return version
        try:
            body = await _body(scope, receive, self.limit)
        except _TooLarge:
            return error_answer(413, f"request body larger than {self.limit} bytes")
        if body is None:
            return None
        return await self.core.infer(match["name"], version, match["verb"], body)


def _respond(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, media_type=_JSON)


def _version(text: str | None) -> int | None | Answer:
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18:
        return error_answer(400, f"version must be a positive integer, not {text[:50]!r}")
    return int(text)


async def _body(scope, receive, limit: int) -> bytes | None:
    """The request's body; None if the client disconnected first. Raises _TooLarge past `limit`."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.isdigit() and int(value) > limit:
                raise _TooLarge()
            break
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
