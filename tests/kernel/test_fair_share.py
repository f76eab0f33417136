"""Fair share across tenants in the real Redis queue: a burst never blocks another tenant."""

from __future__ import annotations

import time

from arq.connections import ArqRedis

from evalpod import queue


async def _order(redis: ArqRedis, stage: queue.Stage = "execute") -> list[str]:
    return [m.decode() for m in await redis.zrange(queue.QUEUES[stage][0], 0, -1)]


async def _fresh(redis: ArqRedis) -> None:
    await redis.delete(queue.EXECUTE_QUEUE, queue.VALIDATE_QUEUE,
                       queue.fair_key("execute"), queue.fair_key("validate"))


async def _take_first(redis: ArqRedis) -> str:
    """What an arq worker does, plus the fair clock hook every job function calls."""
    first = (await redis.zrange(queue.EXECUTE_QUEUE, 0, 0))[0].decode()
    await redis.zrem(queue.EXECUTE_QUEUE, first)
    await queue.started(redis, "execute", first)
    return first


async def test_one_job_behind_a_backlog_is_next(redis_client: ArqRedis) -> None:
    """The issue's scenario: A queues 16 jobs, a worker takes one, then B submits one."""
    await _fresh(redis_client)
    backlog = [queue.new_job("execute", f"a{i}", 0, tenant_id="A") for i in range(16)]
    for job in backlog:
        await queue.send(redis_client, job)
    assert await _take_first(redis_client) == backlog[0].job_id
    b = queue.new_job("execute", "b0", 0, tenant_id="B")
    assert await queue.send(redis_client, b) == 1  # its place: next
    assert await _take_first(redis_client) == b.job_id
    # Then A's backlog goes on in its own order.
    assert await _order(redis_client) == [j.job_id for j in backlog[1:]]
    now_ms = time.time() * 1000
    scores = await redis_client.zrange(queue.EXECUTE_QUEUE, 0, -1, withscores=True)
    assert all(score <= now_ms for _, score in scores)  # all runnable at once


async def test_two_backlogs_interleave_by_share(redis_client: ArqRedis) -> None:
    await _fresh(redis_client)
    for i in range(6):
        await queue.send(redis_client, queue.new_job("execute", f"a{i}", 0, tenant_id="A",
                                                     share=2.0))
    for i in range(3):
        await queue.send(redis_client, queue.new_job("execute", f"b{i}", 0, tenant_id="B"))
    tenants = [job_id.split(":")[1][0].upper() for job_id in await _order(redis_client)]
    # A (share 2) gets two starts for each of B's while both wait.
    assert tenants == ["A", "B", "A", "A", "B", "A", "A", "B", "A"]


async def test_priority_orders_a_tenants_own_jobs_and_share_is_remembered(
    redis_client: ArqRedis,
) -> None:
    await _fresh(redis_client)
    low = [queue.new_job("execute", f"low{i}", 0, tenant_id="A", share=3.0) for i in range(3)]
    for job in low:
        await queue.send(redis_client, job)
    urgent = queue.new_job("execute", "urgent", 5, tenant_id="A")  # share: the stored 3
    await queue.send(redis_client, urgent)
    assert (await _order(redis_client))[0] == urgent.job_id
    stored = await redis_client.hget(queue.fair_key("execute"), "w:A")
    assert stored is not None and float(stored) == 3.0
    # Re-prioritising keeps the fair start tag: the job moves only by priority.
    await queue.reprioritise(redis_client, queue.QueuedJob("execute", "low2", low[2].job_id, 9))
    assert (await _order(redis_client))[0] == low[2].job_id


async def test_a_tenant_back_after_a_pause_does_not_jump_the_others(
    redis_client: ArqRedis,
) -> None:
    """Start tags begin at the stage's clock, not at zero, so idle time earns no credit."""
    await _fresh(redis_client)
    a_jobs = [queue.new_job("execute", f"a{i}", 0, tenant_id="A") for i in range(8)]
    for job in a_jobs:
        await queue.send(redis_client, job)
    for _ in range(5):
        await _take_first(redis_client)
    b_jobs = [queue.new_job("execute", f"b{i}", 0, tenant_id="B") for i in range(3)]
    for job in b_jobs:
        await queue.send(redis_client, job)
    tenants = [job_id.split(":")[1][0].upper() for job_id in await _order(redis_client)]
    assert tenants == ["B", "A", "B", "A", "B", "A"]


async def test_jobs_without_a_tenant_keep_wall_clock_order(redis_client: ArqRedis) -> None:
    await _fresh(redis_client)
    plain = queue.new_job("execute", "plain", 0)
    await queue.send(redis_client, plain)
    score = await redis_client.zscore(queue.EXECUTE_QUEUE, plain.job_id)
    assert score is not None and score > 1e12  # a wall-clock score, still in the past
    assert score <= time.time() * 1000
    await queue.started(redis_client, "execute", plain.job_id)  # unknown to the clock: no-op
