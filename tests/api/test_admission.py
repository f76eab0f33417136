"""Submit's admission: the rate count, live slot and GPU-seconds reservation in one Redis
round trip, with the same verdicts, the same order of errors and the same refunds as when
they were three calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from evalpod.keys import bump_auth_epoch, revoke_key
from evalpod.live_quota import KEY_PREFIX
from evalpod.orm import Tenant
from tests.api.conftest import ClientFactory

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"


def body(**extra: Any) -> dict[str, Any]:
    return {"model_id": "tiny-gpt2", "script": GOOD, **extra}


async def _limit(app: FastAPI, tenant_id: str, **limits: int) -> None:
    async with app.state.db.session() as session:
        await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(limits=limits))
    await bump_auth_epoch(app.state.redis)


@contextmanager
def redis_commands(app: FastAPI) -> Iterator[list[str]]:
    """One entry per round trip the app makes to Redis: a command's name, or a pipeline's
    command names after 'PIPELINE'."""
    redis = app.state.redis
    seen: list[str] = []
    original, original_pipeline = redis.execute_command, redis.pipeline

    async def counted(*args: Any, **kwargs: Any) -> Any:
        seen.append(str(args[0]).upper())
        return await original(*args, **kwargs)

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = original_pipeline(*args, **kwargs)
        execute = pipe.execute

        async def counted_execute(*args: Any, **kwargs: Any) -> Any:
            names = [str(command[0][0]).upper() for command in pipe.command_stack]
            seen.append(" ".join(["PIPELINE", *names]))
            return await execute(*args, **kwargs)

        pipe.execute = counted_execute
        return pipe

    redis.execute_command, redis.pipeline = counted, pipeline
    try:
        yield seen
    finally:
        del redis.execute_command, redis.pipeline


async def _quota_used(app: FastAPI, tenant_id: str) -> tuple[int, int]:
    """(live slots, GPU-seconds reserved today) of a tenant, as Redis counts them."""
    redis = app.state.redis
    live = int(await redis.get(KEY_PREFIX + tenant_id) or 0)
    gpu = int(await redis.get(f"evalpod:gpusec:{tenant_id}:{datetime.now(UTC):%Y%m%d}") or 0)
    return live, gpu


async def _minute_count(app: FastAPI, key_id: str) -> int:
    return int(await app.state.redis.get(f"evalpod:rate:{key_id}:m:{int(time.time()) // 60}")
               or 0)


async def test_a_submit_is_two_redis_round_trips(client: httpx.AsyncClient,
                                                 api_app: FastAPI) -> None:
    gpu_body = body(config={"gpus": 1, "timeout_s": 60})
    await client.post("/evaluations", json=gpu_body)  # warm: scripts loaded, principal cached
    before = await _minute_count(api_app, client.key_id)  # type: ignore[attr-defined]
    with redis_commands(api_app) as seen:
        response = await client.post("/evaluations", json=gpu_body)
    assert response.status_code == 202, response.text
    # Admission (rate, live slot, GPU-seconds), then the job's enqueue after commit.
    assert seen == ["PIPELINE EVALSHA", "PIPELINE EVALSHA"]
    assert await _minute_count(api_app, client.key_id) == before + 1  # type: ignore[attr-defined]
    assert await _quota_used(api_app, client.tenant_id) == (2, 120)  # type: ignore[attr-defined]


async def test_concurrent_submits_share_redis_round_trips(client: httpx.AsyncClient,
                                                          api_app: FastAPI) -> None:
    await client.post("/evaluations", json=body())  # warm
    with redis_commands(api_app) as seen:
        responses = await asyncio.gather(*(client.post("/evaluations", json=body())
                                           for _ in range(12)))
    assert [r.status_code for r in responses] == [202] * 12
    # Each submit's admission and enqueue are one script call each, pipelined together
    # with those of the submits in flight: fewer round trips than calls.
    calls = sum(len(entry.split()) - 1 for entry in seen)
    assert calls == 24 and len(seen) < 24, seen
    assert await _quota_used(api_app, client.tenant_id) == (13, 0)  # type: ignore[attr-defined]


@pytest.mark.parametrize("refused, code", [
    (body(script="def evaluate_model(model) return 1\n"), "INVALID_SCRIPT"),
    (body(script="import os\ndef evaluate_model(model):\n    os.system('x')\n"),
     "FORBIDDEN_PATTERN"),
    (body(model_id="no-such-model"), "MODEL_NOT_FOUND"),
    (body(config={"gpus": 1, "timeout_s": 86_400}), "INVALID_CONFIG"),  # past the server's
    (body(config={"gpus": 1, "timeout_s": 10 ** 9}), "INVALID_CONFIG"),  # past the schema's
])
async def test_a_refused_submit_gives_its_quota_back(
    client: httpx.AsyncClient, api_app: FastAPI, refused: dict[str, Any], code: str
) -> None:
    tenant: str = client.tenant_id  # type: ignore[attr-defined]
    await _limit(api_app, tenant, max_live_evaluations=1, gpu_seconds_per_day=100)
    for _ in range(3):
        response = await client.post("/evaluations",
                                     json={**refused, "config": {"gpus": 1, "timeout_s": 60,
                                                                 **refused.get("config", {})}})
        assert response.json()["error"]["code"] == code, response.text
        assert await _quota_used(api_app, tenant) == (0, 0)
    assert (await client.post("/evaluations", json=body(
        config={"gpus": 1, "timeout_s": 60}))).status_code == 202
    assert await _quota_used(api_app, tenant) == (1, 60)


async def test_an_idempotent_retry_keeps_one_slot(client: httpx.AsyncClient,
                                                  api_app: FastAPI) -> None:
    tenant: str = client.tenant_id  # type: ignore[attr-defined]
    await _limit(api_app, tenant, max_live_evaluations=1, gpu_seconds_per_day=100)
    keyed = body(idempotency_key="admission-twin", config={"gpus": 1, "timeout_s": 60})
    first = await client.post("/evaluations", json=keyed)
    assert first.status_code == 202
    # At its limit, the retry still finds its twin (the quota is checked after the key).
    again = await client.post("/evaluations", json=keyed)
    assert again.status_code == 200
    assert again.json()["evaluation_id"] == first.json()["evaluation_id"]
    assert await _quota_used(api_app, tenant) == (1, 60)


async def test_a_rate_limited_submit_takes_no_quota_and_comes_first(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    tenant: str = client.tenant_id  # type: ignore[attr-defined]
    await _limit(api_app, tenant, requests_per_minute=1, max_live_evaluations=5)
    assert (await client.post("/evaluations", json=body())).status_code == 202
    # Over the rate, even an invalid script is refused for the rate, before any check.
    for refused in (body(), body(script="def evaluate_model(model) return 1\n")):
        response = await client.post("/evaluations", json=refused)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert await _quota_used(api_app, tenant) == (1, 0)


async def test_a_body_refused_by_validation_is_still_counted(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    tenant: str = client.tenant_id  # type: ignore[attr-defined]
    await _limit(api_app, tenant, requests_per_minute=2)
    codes = [(await client.post("/evaluations", json={"model_id": 5})).status_code
             for _ in range(3)]
    assert codes == [422, 422, 429]
    assert await _minute_count(api_app, client.key_id) == 3  # type: ignore[attr-defined]


async def test_a_lowered_limit_applies_to_the_next_submit(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """The principal was cached under the old limits; the admission's epoch shows the
    change and the quotas are taken again under the new ones."""
    tenant: str = client.tenant_id  # type: ignore[attr-defined]
    await _limit(api_app, tenant, max_live_evaluations=5)
    assert (await client.post("/evaluations", json=body())).status_code == 202
    await _limit(api_app, tenant, max_live_evaluations=1)
    over = await client.post("/evaluations", json=body())
    assert over.status_code == 429, over.text
    assert over.json()["error"]["detail"]["limit"] == 1
    assert await _quota_used(api_app, tenant) == (1, 0)


async def test_a_revoked_key_keeps_no_quota(make_client: ClientFactory,
                                            api_app: FastAPI) -> None:
    client = await make_client()
    tenant: str = client.tenant_id  # type: ignore[attr-defined]
    assert (await client.post("/evaluations", json=body())).status_code == 202  # cached
    async with api_app.state.db.session() as session:
        await revoke_key(session, client.key_id)  # type: ignore[attr-defined]
    await bump_auth_epoch(api_app.state.redis)
    refused = await client.post("/evaluations", json=body(config={"gpus": 1, "timeout_s": 5}))
    assert refused.status_code == 401
    assert await _quota_used(api_app, tenant) == (1, 0)
