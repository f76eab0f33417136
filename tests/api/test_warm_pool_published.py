"""The warm pool reaches /health and /metrics from the workers that own it: each worker
publishes its backend's status with its heartbeat, and the API merges what is live."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from evalpod.settings import Settings
from evalpod.workers import WorkerState, beat, status_key
from orchestrator.local.pool import PoolKeyStatus, PoolStatus


class PooledBackend:
    """A backend holding a warm pool, as `LocalBackend.status` reports one."""

    def __init__(self, pool: PoolStatus) -> None:
        self.pool = pool

    def status(self) -> dict[str, Any]:
        return {"warm_pool": self.pool.model_dump()}

    async def aclose(self) -> None:
        return None


def _key(model: str | None, ready: int, warming: int) -> PoolKeyStatus:
    return PoolKeyStatus(model=model, gpus=(), cpus=1.0, disk_mb=512, ready=ready,
                         warming=warming, target=1)


async def _publish(redis: Any, worker_id: str, role: str, pool: PoolStatus | None) -> None:
    state = WorkerState(role, worker_id, Settings(), db=None, redis=redis,  # type: ignore[arg-type]
                        cancels=None, gpus=None)  # type: ignore[arg-type]
    if pool is not None:
        state._backend = PooledBackend(pool)
    await beat(state)


@pytest.fixture
async def published(api_app: FastAPI) -> Any:
    redis = api_app.state.redis
    ids = ["orchestrator:test:1:aaaaaa", "orchestrator:test:2:bbbbbb", "validator:test:3:cccccc",
           "validator:test:4:dddddd"]
    await _publish(redis, ids[0], "orchestrator",
                   PoolStatus(keys=[_key("tiny-gpt2", 1, 0)], hits=3, waits=1, misses=2))
    await _publish(redis, ids[1], "orchestrator",
                   PoolStatus(keys=[_key("tiny-gpt2", 0, 1), _key(None, 1, 0)], hits=1))
    await _publish(redis, ids[2], "validator", PoolStatus(keys=[], misses=5))
    await _publish(redis, ids[3], "validator", None)  # no pool built yet: nothing to add
    yield
    await redis.delete(*(status_key(worker_id) for worker_id in ids))


@pytest.mark.usefixtures("published")
async def test_metrics_sum_the_live_workers_pools(anonymous: httpx.AsyncClient) -> None:
    text = (await anonymous.get("/metrics")).text
    labels = 'gpus="",model="tiny-gpt2",role="orchestrator"'
    assert f"evalpod_warm_pool_ready_sandboxes{{{labels}}} 1.0" in text
    assert f"evalpod_warm_pool_warming_sandboxes{{{labels}}} 1.0" in text
    assert f"evalpod_warm_pool_target_sandboxes{{{labels}}} 2.0" in text
    assert 'evalpod_warm_pool_ready_sandboxes{gpus="",model="",role="orchestrator"} 1.0' in text
    assert 'evalpod_warm_pool_hits_total{role="orchestrator"} 4.0' in text
    assert 'evalpod_warm_pool_waits_total{role="orchestrator"} 1.0' in text
    assert 'evalpod_warm_pool_misses_total{role="orchestrator"} 2.0' in text
    assert 'evalpod_warm_pool_misses_total{role="validator"} 5.0' in text
    promtool = shutil.which("promtool")
    if promtool is not None:
        checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                                 capture_output=True, timeout=60)
        assert checked.returncode == 0 and not checked.stdout.strip(), (
            checked.stdout.decode() + checked.stderr.decode())


@pytest.mark.usefixtures("published")
async def test_detailed_health_shows_each_roles_pool(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/api/v1/health", params={"detailed": "true"})
    pool = response.json()["checks"]["warm_pool"]
    assert pool["ok"] is True
    orchestrator = pool["roles"]["orchestrator"]
    assert (orchestrator["hits"], orchestrator["waits"], orchestrator["misses"]) == (4, 1, 2)
    by_model = {key["model"]: key for key in orchestrator["keys"]}
    assert (by_model["tiny-gpt2"]["ready"], by_model["tiny-gpt2"]["warming"]) == (1, 1)
    assert by_model[None]["ready"] == 1
    assert pool["roles"]["validator"]["misses"] == 5


async def test_a_worker_gone_takes_its_pool_out(api_app: FastAPI,
                                                anonymous: httpx.AsyncClient) -> None:
    """The status expires with the liveness key (and goes at shutdown): a dead worker's
    sandboxes are not counted as ready."""
    redis = api_app.state.redis
    worker_id = "orchestrator:test:9:eeeeee"
    await _publish(redis, worker_id, "orchestrator",
                   PoolStatus(keys=[_key("gone-model", 1, 0)]))
    assert 'model="gone-model"' in (await anonymous.get("/metrics")).text
    assert 0 < await redis.pttl(status_key(worker_id)) <= Settings().worker_liveness_ttl_s * 1000
    await redis.delete(status_key(worker_id))
    assert 'model="gone-model"' not in (await anonymous.get("/metrics")).text
