"""Found by the long chaos run (`bench/chaos.py`): Redis dying while arq takes a job.

Each test runs a redis-server of its own and really kills it at one point of arq's job
start (after it watched the job's in-progress key, or before it read the queue), then
asks the worker for more: the worker's process must live on and keep every job slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from arq import create_pool
from pydantic import SecretStr
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from evalpod import queue
from evalpod.settings import get_settings
from evalpod.workers import ResilientWorker, build_worker
from tests.chaos.cluster import RedisServer

JOB = b"validate:ev_chaos:0001"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def worker(redis_server: RedisServer) -> AsyncIterator[ResilientWorker]:
    async def never_runs(_ctx: dict[str, Any], _evaluation_id: str) -> str:
        raise AssertionError("no job starts while Redis is down")

    settings = get_settings().model_copy(update={"redis_url": SecretStr(redis_server.url)})
    built = build_worker("validator", never_runs, "evalpod:queue:chaos-test", 2,
                         job_timeout_s=10, settings=settings, reconcile=False)
    pool = await create_pool(queue.redis_settings(redis_server.url))
    built._pool = pool
    await pool.zadd(built.queue_name, {JOB.decode(): 1})  # due long ago: taken at once
    yield built
    await pool.aclose()


def _slots_free(worker: ResilientWorker) -> bool:
    """Nothing runs, so every slot must be free: no job counted, semaphore full."""
    return worker.job_counter == 0 and worker.sem._value == worker.max_jobs + 1


async def test_redis_lost_while_watching_a_job_neither_ends_the_worker_nor_costs_a_slot(
    worker: ResilientWorker, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py reports a connection lost during WATCH as `WatchError`, which the poll
    loop let through: the process's worker loop ended (a running sandbox with it), and
    arq kept the job counted, so a worker that lived on had one slot fewer each time."""
    watch = Pipeline.watch

    async def watch_then_lose_redis(self: Pipeline, *names: Any) -> Any:
        answer = await watch(self, *names)
        redis_server.kill()  # the restart lands between WATCH and the reads after it
        return answer

    monkeypatch.setattr(Pipeline, "watch", watch_then_lose_redis)
    await asyncio.wait_for(worker._poll_iteration(), 30)  # raised WatchError before
    assert _slots_free(worker), (worker.job_counter, worker.sem._value)


async def test_redis_down_while_taking_jobs_costs_no_slot(
    worker: ResilientWorker, redis_server: RedisServer
) -> None:
    """With Redis gone before arq's WATCH, every try raises a connection error; before,
    each cost a slot, and after `max_jobs` of them the worker took nothing ever again."""
    redis_server.kill()
    for _ in range(worker.max_jobs + 1):
        with pytest.raises((RedisError, OSError)):
            await asyncio.wait_for(worker.start_jobs([JOB]), 30)
    assert _slots_free(worker), (worker.job_counter, worker.sem._value)
