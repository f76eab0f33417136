"""Queue ordering in Redis: strict priority, FIFO within one, nothing scheduled in the future."""

from __future__ import annotations

import time
from datetime import timedelta

from arq.connections import ArqRedis

from evalpod import queue


async def test_priorities_order_jobs_and_all_are_runnable_now(redis_client: ArqRedis) -> None:
    await redis_client.delete(queue.EXECUTE_QUEUE)
    jobs = [queue.new_job("execute", f"ev_{i}", priority)
            for i, priority in enumerate([0, -100, 5, 100, 0, -3])]
    for job in jobs:
        await queue.send(redis_client, job)
    ordered = [member.decode() for member in await redis_client.zrange(queue.EXECUTE_QUEUE, 0, -1)]
    by_id = {job.job_id: job for job in jobs}
    assert [by_id[j].priority for j in ordered] == [100, 5, 0, 0, -3, -100]
    zeros = [by_id[j].evaluation_id for j in ordered if by_id[j].priority == 0]
    assert zeros == ["ev_0", "ev_4"]
    now_ms = time.time() * 1000
    scores = [score for _, score in await redis_client.zrange(queue.EXECUTE_QUEUE, 0, -1,
                                                              withscores=True)]
    assert all(score <= now_ms for score in scores)
    assert await queue.is_pending(redis_client, jobs[0].job_id)


async def test_reprioritise_moves_a_queued_job(redis_client: ArqRedis) -> None:
    await redis_client.delete(queue.EXECUTE_QUEUE)
    low, high = queue.new_job("execute", "ev_low", 0), queue.new_job("execute", "ev_high", 1)
    await queue.send(redis_client, low)
    await queue.send(redis_client, high)
    await queue.reprioritise(redis_client, queue.QueuedJob("execute", "ev_low", low.job_id, 9))
    first = (await redis_client.zrange(queue.EXECUTE_QUEUE, 0, 0))[0].decode()
    assert first == low.job_id


async def test_delayed_retry_is_not_runnable_yet(redis_client: ArqRedis) -> None:
    await redis_client.delete(queue.EXECUTE_QUEUE)
    job = queue.new_job("execute", "ev_retry", 50)
    await queue.send(redis_client, job, delay=timedelta(seconds=30))
    score = await redis_client.zscore(queue.EXECUTE_QUEUE, job.job_id)
    assert score is not None and score > time.time() * 1000 + 20_000
