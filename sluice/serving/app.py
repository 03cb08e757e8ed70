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

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from sluice.serving.rest_requests import VERBS
from sluice.serving.service import Answer, ServingCore, error_answer

_GET = re.compile(r"(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<metadata>/metadata)?")
_POST = re.compile(r"(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?:(?P<verb>[^/:]+)")
_JSON = "application/json"


class _TooLarge(Exception):
    pass


def create_app(core: ServingCore, load_before_serving: bool = False) -> FastAPI:
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
    limit = core.options.max_body_bytes

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

    async def post_model(request: Request) -> Response:
        path = request.path_params["path"]
        match = _POST.fullmatch(path)
        if match is None:
            return _respond(error_answer(404, f"no such resource: /v1/models/{path} (POST .../models/NAME[/versions/V]:predict, :classify or :regress)"[:300]))
        if match["verb"] not in VERBS:
            return _respond(error_answer(404, f"unknown method {match['verb'][:100]!r}; expected one of {list(VERBS)}"))
        version = _version(match["version"])
        if isinstance(version, Answer):
            return _respond(version)
        try:
            body = await _body(request, limit)
        except _TooLarge:
            return _respond(error_answer(413, f"request body larger than {limit} bytes"))
        return _respond(await core.infer(match["name"], version, match["verb"], body))

    # A plain Starlette route: the hot path skips FastAPI's parameter resolution, which
    # cost about 15% of single-row requests/s (bench/serving.py, 20 clients).
    app.router.add_route("/v1/models/{path:path}", post_model, methods=["POST"])

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

    return app


def _respond(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, media_type=_JSON)


def _version(text: str | None) -> int | None | Answer:
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18:
        return error_answer(400, f"version must be a positive integer, not {text[:50]!r}")
    return int(text)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)
