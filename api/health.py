"""GET /api/v1/health: liveness without dependencies, or a detailed check with 503 on failure."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.metrics import published_pools
from api.text import TextCheckedRoute
from evalpod import __version__

router = APIRouter(tags=["health"], route_class=TextCheckedRoute)
CHECK_TIMEOUT_S = 2.0
MIN_FREE_DISK_BYTES = 512 * 1024 * 1024


class HealthOut(BaseModel):
    status: str
    version: str
    checks: dict[str, dict[str, Any]] | None = None


async def _check_database(request: Request) -> dict[str, Any]:
    async with request.app.state.db.session() as session:
        await session.execute(text("SELECT 1"))
    return {"ok": True}


async def _check_redis(request: Request) -> dict[str, Any]:
    await request.app.state.redis.ping()
    return {"ok": True}


async def _check_backend(request: Request) -> dict[str, Any]:
    health = await request.app.state.backend.health()
    return {"ok": health.ok, "backend": health.backend, **health.detail}


async def _check_disk(request: Request) -> dict[str, Any]:
    home = request.app.state.settings.home_dir
    free = shutil.disk_usage(home if home.exists() else "/").free
    return {"ok": free >= MIN_FREE_DISK_BYTES, "free_bytes": free}


async def _check_warm_pool(request: Request) -> dict[str, Any]:
    """The warm pools the workers published (never unhealthy: an empty pool only means
    cold starts). `roles`: per worker role, ready/warming sandboxes per key and take counts."""
    pools = await published_pools(request.app.state.redis)
    return {"ok": True, "roles": {role: pool.model_dump() for role, pool in pools.items()}}


async def _timed(name: str, check: Any, request: Request) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        result: dict[str, Any] = await asyncio.wait_for(check(request), CHECK_TIMEOUT_S)
    except Exception as exc:
        result = {"ok": False, "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return name, result


@router.get("/health", response_model=HealthOut, summary="Liveness; ?detailed=true checks deps",
            responses={503: {"model": HealthOut, "description": "a dependency is down"}})
async def health(request: Request, detailed: bool = False) -> Any:
    if not detailed:
        return HealthOut(status="ok", version=__version__)
    checks = dict(await asyncio.gather(
        _timed("database", _check_database, request),
        _timed("redis", _check_redis, request),
        _timed("sandbox_backend", _check_backend, request),
        _timed("disk", _check_disk, request),
        _timed("warm_pool", _check_warm_pool, request),
    ))
    healthy = all(c["ok"] for c in checks.values())
    body = HealthOut(status="ok" if healthy else "degraded", version=__version__, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
