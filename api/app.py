"""The FastAPI application factory: state, routers, middleware, error mapping."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from api import (
    activity,
    admin,
    batch,
    benchmarks,
    datasets,
    errors,
    evaluations,
    health,
    lm_eval_tasks,
    logs,
    metrics,
    models,
    preflight,
    session,
    tenant,
    web,
)
from api.evaluation_service import KnownModels
from api.observe import ObserveRequests
from api.principal_cache import PrincipalCache
from api.schemas import server_limits
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


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # The app owns its engine: engines are bound to the event loop that created them.
    app.state.db = Database(settings.database_dsn(), settings.database_pool_size,
                            settings.database_max_overflow)
    app.state.redis = await queue.connect(settings.redis_dsn())
    app.state.backend = get_backend(settings.backend)
    app.state.principal_cache = PrincipalCache(ttl_s=settings.auth_cache_ttl_s)
    app.state.known_models = KnownModels()
    # Only the local backend's host GPUs bound a request; a cluster schedules its own.
    app.state.gpu_count = (await asyncio.to_thread(host_gpu_count, settings)
                           if settings.backend == "local" else None)
    _tune_garbage_collector()
    try:
        yield
    finally:
        await app.state.redis.aclose()
        await app.state.db.dispose()


def _tune_garbage_collector() -> None:
    """Keep the long-lived startup objects out of every later garbage collection, and
    collect the young generation less often.

    The modules, routes and schemas loaded by now are never freed; without the freeze each
    collection triggered by a request (ast.parse allocates a lot) rescans all of them,
    which doubled the cost of parsing a submitted script under load. A request's own
    objects are nearly all freed by reference counting, so a young collection mostly
    rescans the requests in flight: at the default threshold (700 allocations) a submit
    paid for several; at 50,000 it pays for a fraction of one (bench/api_submit.py).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)


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
        server_limits(schema, app.state.settings, getattr(app.state, "gpu_count", None))
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
    app.add_middleware(ObserveRequests, max_script_bytes=app.state.settings.max_script_bytes)
    v1 = APIRouter(prefix="/api/v1", responses=errors.responses(
        Unauthorized, RateLimited, InvalidConfig, PayloadTooLarge, EvalpodError))
    v1.include_router(preflight.router)  # before /evaluations/{id} routes
    v1.include_router(batch.router)
    v1.include_router(evaluations.router)
    v1.include_router(logs.router)
    v1.include_router(health.router)
    v1.include_router(models.router)
    v1.include_router(activity.router)
    v1.include_router(lm_eval_tasks.router)
    v1.include_router(admin.router)
    v1.include_router(datasets.router)
    v1.include_router(benchmarks.router)
    v1.include_router(tenant.router)
    v1.include_router(session.router)
    app.include_router(v1)
    app.include_router(metrics.router)
    web.install(app)
    _envelope_everywhere(app)
    return app
