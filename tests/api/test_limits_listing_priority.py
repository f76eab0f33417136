"""Rate limits and quotas (shared in Redis), listing with cursors, priority and queue position."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from evalpod.keys import Role, bump_auth_epoch
from evalpod.orm import Tenant
from tests.api.conftest import ClientFactory

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"


def body(**extra: Any) -> dict[str, Any]:
    return {"model_id": "tiny-gpt2", "script": GOOD, **extra}


async def _limit(app: FastAPI, tenant_id: str, **limits: int) -> None:
    async with app.state.db.session() as session:
        await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(limits=limits))
    await bump_auth_epoch(app.state.redis)  # as the admin route does after its commit


async def test_burst_limit_gives_429_with_retry_after(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    await _limit(api_app, client.tenant_id, burst_per_second=3)  # type: ignore[attr-defined]
    codes = [(await client.get("/evaluations")).status_code for _ in range(6)]
    assert codes.count(429) >= 2 and codes[0] == 200
    limited = await client.get("/evaluations")
    if limited.status_code == 200:  # the second rolled over; one more burst must trip it
        for _ in range(4):
            limited = await client.get("/evaluations")
    assert limited.status_code == 429
    error = limited.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) >= 1
    assert error["detail"]["burst_per_second"] == 3
    assert "remaining_this_minute" in error["detail"]


async def test_minute_limit_is_shared_by_every_client_of_the_key(
    make_client: ClientFactory, api_app: FastAPI
) -> None:
    one = await make_client()
    await _limit(api_app, one.tenant_id, requests_per_minute=5)  # type: ignore[attr-defined]
    # A second replica is just another app instance on the same Redis.
    other_app_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app),
                                         base_url="http://test/api/v1", headers=one.headers)
    codes = []
    for i in range(8):
        c = one if i % 2 else other_app_client
        codes.append((await c.get("/evaluations")).status_code)
    await other_app_client.aclose()
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}


async def test_live_evaluation_quota(client: httpx.AsyncClient, api_app: FastAPI) -> None:
    await _limit(api_app, client.tenant_id, max_live_evaluations=2)  # type: ignore[attr-defined]
    assert (await client.post("/evaluations", json=body())).status_code == 202
    assert (await client.post("/evaluations", json=body())).status_code == 202
    third = await client.post("/evaluations", json=body())
    assert third.status_code == 429
    error = third.json()["error"]
    assert error["code"] == "QUOTA_EXCEEDED" and error["detail"]["remaining"] == 0
    assert third.headers["Retry-After"]


async def test_cancelling_gives_the_live_slot_back(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    await _limit(api_app, client.tenant_id, max_live_evaluations=1)  # type: ignore[attr-defined]
    first = (await client.post("/evaluations", json=body())).json()
    assert (await client.post("/evaluations", json=body())).status_code == 429
    assert (await client.post(f"/evaluations/{first['evaluation_id']}/cancel")).status_code == 200
    assert (await client.post("/evaluations", json=body())).status_code == 202


async def test_live_quota_holds_under_concurrency(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    await _limit(api_app, client.tenant_id, max_live_evaluations=3)  # type: ignore[attr-defined]
    codes = await asyncio.gather(*(client.post("/evaluations", json=body()) for _ in range(12)))
    assert sorted(r.status_code for r in codes) == [202] * 3 + [429] * 9


async def test_a_refused_submit_does_not_keep_its_slot(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    await _limit(api_app, client.tenant_id, max_live_evaluations=1)  # type: ignore[attr-defined]
    unknown_model = await client.post("/evaluations", json=body(model_id="no-such-model"))
    assert unknown_model.json()["error"]["code"] == "MODEL_NOT_FOUND"
    await _limit(api_app, client.tenant_id, max_live_evaluations=1,  # type: ignore[attr-defined]
                 gpu_seconds_per_day=10)
    over_gpu = await client.post("/evaluations", json=body(config={"gpus": 1, "timeout_s": 60}))
    assert over_gpu.json()["error"]["detail"]["quota"] == "gpu_seconds_per_day"
    assert (await client.post("/evaluations", json=body())).status_code == 202


async def test_gpu_seconds_quota(client: httpx.AsyncClient, api_app: FastAPI) -> None:
    await _limit(api_app, client.tenant_id, gpu_seconds_per_day=100)  # type: ignore[attr-defined]
    ok = await client.post("/evaluations", json=body(config={"gpus": 1, "timeout_s": 60}))
    assert ok.status_code == 202
    over = await client.post("/evaluations", json=body(config={"gpus": 1, "timeout_s": 60}))
    assert over.status_code == 429
    assert over.json()["error"]["detail"]["quota"] == "gpu_seconds_per_day"
    assert over.json()["error"]["detail"]["remaining"] == 40


async def test_gpu_seconds_quota_holds_under_concurrency(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    await _limit(api_app, client.tenant_id, gpu_seconds_per_day=100)  # type: ignore[attr-defined]
    needs_30 = body(config={"gpus": 1, "timeout_s": 30})
    codes = await asyncio.gather(*(client.post("/evaluations", json=needs_30) for _ in range(8)))
    assert sorted(r.status_code for r in codes) == [202] * 3 + [429] * 5
    refused = next(r for r in codes if r.status_code == 429).json()["error"]["detail"]
    assert (refused["used"], refused["remaining"]) == (90, 10)
    # A refused reservation took nothing: the 10 seconds left are still there.
    assert (await client.post("/evaluations", json=body(
        config={"gpus": 1, "timeout_s": 10}))).status_code == 202


async def test_listing_is_newest_first_with_cursor_and_filters(client: httpx.AsyncClient) -> None:
    ids = []
    for i in range(7):
        response = await client.post("/evaluations", json=body(tags={"run": str(i % 2)}))
        ids.append(response.json()["evaluation_id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/evaluations", params=params)).json()
        seen += [item["evaluation_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    tagged = (await client.get("/evaluations", params={"tag": "run:1"})).json()["items"]
    assert [i["evaluation_id"] for i in tagged] == list(reversed(ids[1::2]))
    by_status = (await client.get("/evaluations", params={"status": "succeeded"})).json()
    assert by_status["items"] == []
    bad = await client.get("/evaluations", params={"cursor": "garbage!"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "INVALID_CONFIG"


async def test_queue_position_follows_priority(make_client: ClientFactory) -> None:
    admin = await make_client(role=Role.admin)
    low = (await admin.post("/evaluations", json=body(priority=-50))).json()
    high = (await admin.post("/evaluations", json=body(priority=90))).json()
    assert high["queue_position"] < low["queue_position"]
    record = (await admin.get(f"/evaluations/{low['evaluation_id']}")).json()
    moved = await admin.post(f"/evaluations/{low['evaluation_id']}/priority",
                             json={"priority": 95})
    assert moved.status_code == 200
    assert moved.json()["queue_position"] < record["queue_position"]
    assert moved.json()["queue_position"] <= high["queue_position"]


async def test_submitters_cannot_jump_the_queue(client: httpx.AsyncClient) -> None:
    response = await client.post("/evaluations", json=body(priority=50))
    assert response.status_code == 422
    assert response.json()["error"]["detail"]["errors"][0]["field"] == "priority"


async def test_callback_urls_to_private_addresses_are_refused(client: httpx.AsyncClient) -> None:
    for url in ["https://127.0.0.1/hook", "https://169.254.169.254/latest", "http://example.com/",
                "ftp://x/", "https://[::1]/x", "https://10.1.2.3/x"]:
        response = await client.post("/evaluations", json=body(callback_url=url))
        assert response.status_code == 422, url
        assert response.json()["error"]["detail"]["errors"][0]["field"] == "callback_url"


async def test_health_detailed_and_metrics(anonymous: httpx.AsyncClient) -> None:
    detailed = await anonymous.get("/api/v1/health", params={"detailed": "true"})
    checks = detailed.json()["checks"]
    assert set(checks) == {"database", "redis", "sandbox_backend", "disk", "warm_pool"}
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    metrics = (await anonymous.get("/metrics")).text
    assert "evalpod_http_requests_total" in metrics
    assert "evalpod_http_request_duration_seconds_bucket" in metrics
    assert "evalpod_evaluations" in metrics and "evalpod_queue_depth" in metrics


async def test_health_is_503_when_redis_is_down(pg_dsn: str) -> None:
    from api.app import create_app
    from tests.stack import stack_settings

    settings = stack_settings(pg_dsn, redis_db=15)
    app = create_app(settings.model_copy(update={"redis_url": _secret("redis://127.0.0.1:1/0")}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as anon:
        response = await anon.get("/api/v1/health", params={"detailed": "true"})
        assert (await anon.get("/api/v1/health")).status_code == 200
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


async def test_more_gpus_than_the_host_has_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/evaluations", json=body(config={"gpus": 3}))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["detail"]["errors"][0]["field"] == "config.gpus"
    assert "2 GPUs" in error["detail"]["errors"][0]["message"]
