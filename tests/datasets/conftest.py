"""A running stack (API, validator, orchestrator) plus the dataset-check worker, on its own
PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evalpod.datasets.checking import create_worker
from evalpod.settings import get_settings
from tests.stack import Stack, running_stack, stack_settings

TERMINAL_VERSION = {"ready", "failed"}
# Redis DBs outside the suites' fixed ones (9-15), handed out one per test session: two
# sessions of this suite at once (engineers share the machine) must not share a DB, or
# each stack's workers would take the other's jobs.
FREE_REDIS_DBS = range(1, 7)
LEASE_S = 4 * 3600


@contextlib.contextmanager
def redis_db_lease(base_url: str) -> Iterator[int]:
    """A Redis DB no other session holds, flushed, for as long as the block runs."""
    import redis

    registry = redis.Redis.from_url(f"{base_url}/0")
    token = uuid.uuid4().hex
    for db in FREE_REDIS_DBS:
        key = f"evalpod:test-redis-db:{db}"
        if registry.set(key, token, nx=True, ex=LEASE_S):
            break
    else:
        raise RuntimeError("every spare Redis DB is leased by another test session")
    try:
        redis.Redis.from_url(f"{base_url}/{db}").flushdb()
        yield db
    finally:
        if registry.get(key) == token.encode():
            registry.delete(key)


class DataStack:
    """The stack's HTTP client plus dataset helpers."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = stack.http
        self.settings = stack.settings

    async def dataset(self, name: str, **fields: Any) -> dict[str, Any]:
        response = await self.http.post("/datasets", json={"name": name, **fields})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def upload(self, dataset: str, content: bytes, fmt: str, **params: Any
                     ) -> httpx.Response:
        return await self.http.post(f"/datasets/{dataset}/versions", content=content,
                                    params={"format": fmt, **params})

    async def wait_version(self, dataset: str, version: str, timeout_s: float = 120
                           ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            body: dict[str, Any] = (
                await self.http.get(f"/datasets/{dataset}/versions/{version}")).json()
            if body["status"] in TERMINAL_VERSION:
                return body
            assert time.monotonic() < deadline, body
            await asyncio.sleep(0.2)

    async def ready(self, name: str, content: bytes, fmt: str = "jsonl", **params: Any
                    ) -> dict[str, Any]:
        await self.dataset(name)
        response = await self.upload(name, content, fmt, version="1", **params)
        assert response.status_code == 202, response.text
        version = await self.wait_version(name, "1")
        assert version["status"] == "ready", (version["findings"], version["check_log"])
        return version


@contextlib.asynccontextmanager
async def data_stack(settings: Any, tiny_model_dir: Path) -> AsyncIterator[DataStack]:
    async with running_stack(settings, tiny_model_dir) as stack:
        worker = create_worker(settings)
        task = asyncio.create_task(worker.async_run())
        try:
            yield DataStack(stack)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await worker.close()


@pytest.fixture(scope="session")
def datasets_dsn(pg_factory: Callable[[str], str]) -> str:
    return pg_factory("datasets")


# tests/benchmarks re-exports these fixtures: one stack per session whichever asks first,
# torn down by the last (two stacks on one Redis DB would take each other's jobs).
_shared: dict[str, Any] = {"users": 0}


@pytest.fixture(scope="session")
async def datastack(datasets_dsn: str, tiny_model_dir: Path) -> AsyncIterator[DataStack]:
    if _shared["users"] == 0:
        # The trial also loads `datasets` (pyarrow, fsspec), and 8 engineers share 2 cores
        # (loading torch alone took 50 s): room for the trial and for missed heartbeats.
        lease = redis_db_lease(get_settings().redis_dsn().rsplit("/", 1)[0])
        settings = stack_settings(datasets_dsn, redis_db=lease.__enter__(), trial_timeout_s=300,
                                  worker_liveness_ttl_s=30, worker_heartbeat_s=1)
        _shared["lease"] = lease
        _shared["context"] = data_stack(settings, tiny_model_dir)
        _shared["stack"] = await _shared["context"].__aenter__()
    _shared["users"] += 1
    try:
        yield _shared["stack"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            await _shared.pop("context").__aexit__(None, None, None)
            _shared.pop("lease").__exit__(None, None, None)
