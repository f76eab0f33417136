"""A worker closed while a job is finishing still shuts down cleanly: arq's close awaited the
job tasks it had just cancelled, so a job cancelled while its result was being recorded
raised CancelledError out of close(), which then skipped `on_shutdown` (liveness key, held
set, cancel subscription, the backend's sandboxes) and left its Redis connections open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq.connections import create_pool
from pydantic import SecretStr

from evalpod import queue
from evalpod.settings import Settings, get_settings
from evalpod.workers import (
    LIVENESS_PREFIX,
    ResilientWorker,
    build_worker,
    status_key,
)
from tests.datasets.conftest import redis_db_lease

QUEUE = "evalpod:queue:test-worker-close"


async def _deliver(_ctx: dict[str, Any], evaluation_id: str) -> str:
    return f"delivered {evaluation_id}"


@pytest.fixture
def redis_url() -> Iterator[str]:
    base = get_settings().redis_dsn().rsplit("/", 1)[0]
    with redis_db_lease(base) as db:
        yield f"{base}/{db}"


async def _clients_on_db(url: str) -> list[dict[str, Any]]:
    """The clients connected to `url`'s DB, except the one asking."""
    inspector = aioredis.Redis.from_url(url)
    try:
        own_id = await inspector.client_id()
        db = int(url.rsplit("/", 1)[1])
        clients: list[dict[str, Any]] = await inspector.client_list()
        return [c for c in clients if int(c["db"]) == db and int(c["id"]) != own_id]
    finally:
        await inspector.aclose()


def _worker(redis_url: str, function: Any, stopped: list[str]) -> ResilientWorker:
    return build_worker("callbacks", function, QUEUE, 2, job_timeout_s=60,
                        settings=Settings(redis_url=SecretStr(redis_url)), reconcile=False,
                        on_stop=lambda: stopped.append("on_stop"))


async def test_close_while_a_job_is_finishing_runs_on_shutdown_and_closes_the_pool(
        redis_url: str) -> None:
    stopped: list[str] = []
    worker = _worker(redis_url, _deliver, stopped)
    finishing = asyncio.Event()

    async def after_job_end(ctx: dict[Any, Any]) -> None:
        # The job's function has returned and arq is still finishing the job (recording its
        # result, its end hooks) when the worker is told to close.
        finishing.set()
        await asyncio.sleep(30)

    worker.after_job_end = after_job_end
    client = await create_pool(queue.redis_settings(redis_url))
    run = asyncio.create_task(worker.async_run())
    try:
        await client.enqueue_job("_deliver", "ev-1", _queue_name=QUEUE)
        await asyncio.wait_for(finishing.wait(), 20)
        worker_id = worker.ctx["state"].worker_id
        assert await client.exists(status_key(worker_id)) == 1

        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        started = time.monotonic()
        try:
            await asyncio.wait_for(worker.close(), 10)
        except asyncio.CancelledError:
            pytest.fail("close() raised CancelledError for a job it cancelled itself")
        assert time.monotonic() - started < 5, "close() waited out the job instead"

        # on_shutdown ran: the worker's keys are gone and its on_stop was called.
        assert stopped == ["on_stop"]
        for key in (LIVENESS_PREFIX + worker_id, status_key(worker_id)):
            assert await client.exists(key) == 0, key
        # The pool is closed: once ours is too, no connection is left on the leased DB.
        await client.aclose()
        deadline = time.monotonic() + 5
        while left := await _clients_on_db(redis_url):
            assert time.monotonic() < deadline, f"connections left open: {left}"
            await asyncio.sleep(0.05)
        # A second close (the monitor's and the runner's paths may both call it) is a no-op.
        await worker.close()
    finally:
        run.cancel()
        if worker._pool is not None:  # close() failed: do not leak its connections
            await worker._pool.aclose()
        await client.aclose()


async def test_close_while_a_job_runs_queues_it_again_and_shuts_down(
        redis_url: str) -> None:
    """A job cancelled in its function (arq re-queues it) does not stop close either."""
    stopped: list[str] = []
    running = asyncio.Event()

    async def slow(_ctx: dict[str, Any], evaluation_id: str) -> str:
        running.set()
        await asyncio.sleep(30)
        return evaluation_id

    worker = _worker(redis_url, slow, stopped)
    client = await create_pool(queue.redis_settings(redis_url))
    run = asyncio.create_task(worker.async_run())
    try:
        job = await client.enqueue_job("slow", "ev-2", _queue_name=QUEUE)
        assert job is not None
        await asyncio.wait_for(running.wait(), 20)
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await asyncio.wait_for(worker.close(), 10)
        assert stopped == ["on_stop"]
        assert worker._pool is None
        # arq put the cancelled job back for the next worker rather than failing it.
        assert await client.zscore(QUEUE, job.job_id) is not None
    finally:
        run.cancel()
        if worker._pool is not None:
            await worker._pool.aclose()
        await client.aclose()
