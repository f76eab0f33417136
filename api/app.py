"""The FastAPI application factory: state, routers, middleware, error mapping."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response

from api import (
    activity,
    admin,
    errors,
    evaluations,
    health,
    lm_eval_tasks,
    logs,
    metrics,
    models,
)
from evalpod import __version__, queue
from evalpod.db import Database
from evalpod.errors import (
    EvalpodError,
    InvalidConfig,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
)
from evalpod.settings import Settings, get_settings
from orchestrator.gpus import host_gpu_count
from orchestrator.sandbox import get_backend

access_log = logging.getLogger("evalpod.access")
BODY_OVERHEAD_BYTES = 64 * 1024


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # The app owns its engine: engines are bound to the event loop that created them.
    app.state.db = Database(settings.database_dsn())
    app.state.redis = await queue.connect(settings.redis_dsn())
    app.state.backend = get_backend(settings.backend)
    # Only the local backend's host GPUs bound a request; a cluster schedules its own.
    app.state.gpu_count = (await asyncio.to_thread(host_gpu_count, settings)
                           if settings.backend == "local" else None)
    try:
        yield
    finally:
        await app.state.redis.aclose()
        await app.state.db.dispose()


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


def _has_nul(request: Request) -> bool:
    """PostgreSQL text cannot hold NUL: refuse it at the edge instead of failing deep inside."""
    raw = request.scope.get("query_string", b"") + request.scope.get("raw_path", b"")
    return b"%00" in raw or b"\x00" in raw or "\x00" in request.url.path


async def _observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                   ) -> Response:
    request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
    started = time.perf_counter()
    limit = request.app.state.settings.max_script_bytes * 2 + BODY_OVERHEAD_BYTES
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        response: Response = errors.error_response(
            PayloadTooLarge(f"request body is over {limit} bytes",
                            detail={"limit_bytes": limit}))
    elif _has_nul(request):
        response = errors.error_response(InvalidConfig(
            "NUL characters are not allowed in the path or query",
            detail={"errors": [{"field": "query", "message": "contains a NUL character"}]}))
    else:
        response = await call_next(request)
    elapsed = time.perf_counter() - started
    route = _route_template(request)
    metrics.REQUESTS.labels(route, request.method, str(response.status_code)).inc()
    metrics.LATENCY.labels(route, request.method).observe(elapsed)
    response.headers["X-Request-ID"] = request_id
    principal = getattr(request.state, "principal", None)
    access_log.info(json.dumps({
        "request_id": request_id, "method": request.method, "path": request.url.path,
        "route": route, "status": response.status_code, "ms": round(elapsed * 1000, 2),
        "tenant": getattr(principal, "tenant_id", None),
    }))
    return response


def _envelope_everywhere(app: FastAPI) -> None:
    """Document what the handlers really send: every error, 422 included, is the envelope."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                invalid = operation.get("responses", {}).get("422")
                if invalid is not None:
                    invalid["content"] = {"application/json": {"schema": {
                        "$ref": "#/components/schemas/ErrorEnvelope"}}}
                    invalid["description"] = "INVALID_CONFIG"
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="evalpod",
        version=__version__,
        description="Submit untrusted evaluation scripts; they are validated, sandboxed, "
        "monitored and their results kept. Errors share one envelope.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings or get_settings()
    errors.install(app)
    app.middleware("http")(_observe)
    v1 = APIRouter(prefix="/api/v1", responses=errors.responses(
        Unauthorized, RateLimited, InvalidConfig, PayloadTooLarge, EvalpodError))
    v1.include_router(evaluations.router)
    v1.include_router(logs.router)
    v1.include_router(health.router)
    v1.include_router(models.router)
    v1.include_router(activity.router)
    v1.include_router(lm_eval_tasks.router)
    v1.include_router(admin.router)
    app.include_router(v1)
    app.include_router(metrics.router)
    _envelope_everywhere(app)
    return app
