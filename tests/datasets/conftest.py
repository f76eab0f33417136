"""A running stack (API, validator, orchestrator) plus the dataset-check worker, on its own
PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from evalpod.datasets.checking import create_worker
from tests.stack import Stack, running_stack, stack_settings

TERMINAL_VERSION = {"ready", "failed"}


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


@pytest.fixture(scope="session")
async def datastack(datasets_dsn: str, tiny_model_dir: Path) -> AsyncIterator[DataStack]:
    # The trial also loads `datasets` (pyarrow, fsspec): room for a loaded 2-core machine
    # (8 engineers share it: loading torch alone took 50 s).
    settings = stack_settings(datasets_dsn, redis_db=12, trial_timeout_s=300)
    async with data_stack(settings, tiny_model_dir) as running:
        yield running
