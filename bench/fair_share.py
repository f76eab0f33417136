"""Fair share across tenants, on the real queue code and a real Redis.

The issue's scenario: tenant A queues 16 jobs of 3 s, then tenant B queues one trivial
job. Workers take jobs the way arq does (lowest score first, only scores <= now) and call
`queue.started` as every job function does; job lengths are simulated, so the run takes
well under a second. Prints, for wall-clock order (no tenant, the old behaviour) and for
fair share: B's place at submit, and B's wait until it starts in seconds and in A-job
lengths. Target: B starts within one job length of being submitted.

    .venv/bin/python bench/fair_share.py [--redis redis://127.0.0.1:6379/14] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq

from arq.connections import ArqRedis

from evalpod import queue

A_JOBS, A_LENGTH_S, B_LENGTH_S = 16, 3.0, 0.1


async def _scenario(redis: ArqRedis, workers: int, fair: bool) -> tuple[int | None, float]:
    await redis.delete(queue.EXECUTE_QUEUE, queue.fair_key("execute"))
    length: dict[str, float] = {}
    for i in range(A_JOBS):
        job = queue.new_job("execute", f"a{i}", 0, tenant_id="A" if fair else None)
        await queue.send(redis, job)
        length[job.job_id] = A_LENGTH_S
    # Workers start on A's backlog at t=0; B submits a moment later.
    free_at = [0.0] * workers
    started: dict[str, float] = {}

    async def take(now: float) -> None:
        first = (await redis.zrange(queue.EXECUTE_QUEUE, 0, 0))[0].decode()
        await redis.zrem(queue.EXECUTE_QUEUE, first)
        await queue.started(redis, "execute", first)
        started[first] = now
        heapq.heappush(free_at, now + length[first])

    for _ in range(workers):
        await take(heapq.heappop(free_at))
    b = queue.new_job("execute", "b0", 0, tenant_id="B" if fair else None)
    place = await queue.send(redis, b)
    length[b.job_id] = B_LENGTH_S
    submitted = 0.01
    while b.job_id not in started:
        await take(max(heapq.heappop(free_at), submitted))
    return place, started[b.job_id] - submitted


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    redis = ArqRedis.from_url(args.redis)
    try:
        print(f"A: {A_JOBS} jobs x {A_LENGTH_S:g} s queued first; B: 1 job; "
              f"{args.workers} worker(s)")
        print(f"{'order':<12} {'B place':>8} {'B waits (s)':>12} {'in A jobs':>10}")
        for name, fair in (("wall clock", False), ("fair share", True)):
            place, wait = await _scenario(redis, args.workers, fair)
            print(f"{name:<12} {place!s:>8} {wait:>12.2f} {wait / A_LENGTH_S:>10.2f}")
    finally:
        await redis.delete(queue.EXECUTE_QUEUE, queue.fair_key("execute"))
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
