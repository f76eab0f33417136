"""A run drawn from the orchestrator's warm pool, through the whole service: it is found
by its evaluation id while it runs (its cgroup takes the job's name at assignment), and
nothing of it survives a cancel, exactly as for a cold run; the pool it came from is seen
in /metrics."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from evalpod.settings import get_settings
from tests.datasets.conftest import redis_db_lease
from tests.e2e.processes import processes_of_job
from tests.stack import Stack, running_stack, stack_settings

QUICK = "def evaluate_model(model):\n    return {'ok': 1}\n"
# Sleeps only in the real run (tiny-gpt2 is 96 wide, the trial's shadow 64).
SLEEPS = ("import time\n"
          "def evaluate_model(model):\n"
          "    if model.model.config.n_embd == 96:\n"
          "        print('running', flush=True)\n"
          "        time.sleep(90)\n"
          "    return {}\n")


@pytest.fixture
def pool_dsn(pg_factory: Callable[[str], str]) -> str:
    """Its own database: no other suite's queued evaluations for these workers."""
    return pg_factory("pool")


@pytest.fixture
async def pooled_stack(pool_dsn: str, tiny_model_dir: Path) -> AsyncIterator[Stack]:
    with redis_db_lease(get_settings().redis_dsn().rsplit("/", 1)[0]) as redis_db:
        settings = stack_settings(pool_dsn, redis_db=redis_db, warm_pool_size=1,
                                  trial_timeout_s=120, worker_liveness_ttl_s=30,
                                  worker_heartbeat_s=1)
        async with running_stack(settings, tiny_model_dir) as stack:
            yield stack


async def _metric(stack: Stack, pattern: str) -> float:
    text = (await stack.http.get(stack.url + "/metrics")).text
    values = [float(m.group(1)) for m in re.finditer(pattern + r" (\S+)", text)]
    return sum(values)


async def test_a_pooled_run_is_found_and_cancelled_by_its_evaluation_id(
    pooled_stack: Stack,
) -> None:
    stack = pooled_stack
    first = (await stack.submit(QUICK)).json()["evaluation_id"]  # teaches the pool its key
    await stack.wait_for(first, {"succeeded"}, timeout_s=300)
    ready = r'evalpod_warm_pool_ready_sandboxes\{[^}]*role="orchestrator"\}'
    for _ in range(240):
        if await _metric(stack, ready) >= 1:
            break
        await asyncio.sleep(0.5)
    else:
        text = (await stack.http.get(stack.url + "/metrics")).text
        pytest.fail("the orchestrator's pool never had a ready sandbox:\n" + "\n".join(
            line for line in text.splitlines() if "warm_pool" in line))

    second = (await stack.submit(SLEEPS, config={"timeout_s": 300})).json()["evaluation_id"]
    await stack.wait_for(second, {"executing"}, timeout_s=300)
    for _ in range(600):
        if processes_of_job(second):
            break
        await asyncio.sleep(0.2)
    assert processes_of_job(second), "the pooled run's processes are not found by its id"
    hits = r'evalpod_warm_pool_hits_total\{role="orchestrator"\}'
    for _ in range(20):  # published with the next heartbeat
        if await _metric(stack, hits) >= 1:
            break
        await asyncio.sleep(0.5)
    assert await _metric(stack, hits) >= 1, "the run did not come from the pool"

    cancelled = await stack.http.post(f"/evaluations/{second}/cancel")
    assert cancelled.status_code == 200
    for _ in range(100):
        if not processes_of_job(second):
            break
        await asyncio.sleep(0.1)
    assert processes_of_job(second) == []
    record = await stack.wait_for(second, {"cancelled"}, timeout_s=60)
    assert record["status"] == "cancelled"
