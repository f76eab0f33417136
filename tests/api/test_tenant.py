"""Tenant self-service: GET /tenant (limits and usage), GET /keys, callback secret rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from evalpod.keys import Role, bump_auth_epoch, signing_secrets
from evalpod.orm import Tenant
from tests.api.conftest import ClientFactory

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"


async def test_tenant_shows_identity_effective_limits_and_usage(
    make_client: ClientFactory, api_app: FastAPI
) -> None:
    client = await make_client()
    async with api_app.state.db.session() as session:
        await session.execute(update(Tenant).where(Tenant.id == client.tenant_id)  # type: ignore[attr-defined]
                              .values(limits={"max_live_evaluations": 7}))
    await bump_auth_epoch(api_app.state.redis)
    for gpus in (0, 1):
        response = await client.post("/evaluations", json={
            "model_id": "tiny-gpt2", "script": GOOD, "config": {"gpus": gpus, "timeout_s": 60}})
        assert response.status_code == 202, response.text
    body = (await client.get("/tenant")).json()
    assert body["tenant_id"] == client.tenant_id  # type: ignore[attr-defined]
    assert body["key_id"] == client.key_id and body["role"] == "submitter"  # type: ignore[attr-defined]
    settings = api_app.state.settings
    assert body["limits"] == {
        "requests_per_minute": settings.rate_per_minute,
        "burst_per_second": settings.rate_burst_per_second,
        "max_live_evaluations": 7, "gpu_seconds_per_day": settings.gpu_seconds_per_day}
    assert body["usage"]["max_live_evaluations"] == {"limit": 7, "used": 2, "remaining": 5}
    assert body["usage"]["gpu_seconds_per_day"]["used"] == 60
    # Three requests this minute with this key: two submits and this one.
    assert body["usage"]["requests_per_minute"]["used"] == 3
    assert "callback_secret" not in str(body)
    assert body["callback_signing"] == {"rotated_at": None, "previous_valid_until": None}


async def test_keys_lists_own_tenant_only_unless_admin_asks_for_all(
    make_client: ClientFactory,
) -> None:
    first = await make_client()
    tenant_name = (await first.get("/tenant")).json()["name"]
    second = await make_client(tenant_name)
    other = await make_client()
    items = (await first.get("/keys")).json()["items"]
    assert {k["key_id"] for k in items} == {first.key_id, second.key_id}  # type: ignore[attr-defined]
    assert all(k["tenant_id"] == first.tenant_id and k["revoked_at"] is None  # type: ignore[attr-defined]
               for k in items)
    assert all(k["prefix"].startswith("ep_") and len(k["prefix"]) < 16 for k in items)
    refused = await first.get("/keys", params={"all_tenants": "true"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    admin = await make_client(role=Role.admin)
    everyone = {k["key_id"] for k in (await admin.get("/keys?all_tenants=true")).json()["items"]}
    assert {first.key_id, second.key_id, other.key_id} <= everyone  # type: ignore[attr-defined]


async def test_rotation_keeps_the_old_secret_signing_for_the_grace_period(
    make_client: ClientFactory, api_app: FastAPI
) -> None:
    tenant = await make_client()
    admin = await make_client(role=Role.admin)
    async with api_app.state.db.session() as session:
        original = (await session.get(Tenant, tenant.tenant_id)).callback_secret  # type: ignore[attr-defined]
    path = f"/admin/tenants/{tenant.tenant_id}/callback-secret"  # type: ignore[attr-defined]
    refused = await tenant.post(path, json={"grace_s": 60})
    assert refused.status_code == 403
    rotated = await admin.post(path, json={"grace_s": 3600})
    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()["callback_secret"]
    assert secret != original and secret.startswith("whsec_")
    until = datetime.fromisoformat(rotated.json()["previous_valid_until"])
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(hours=1)
    async with api_app.state.db.session() as session:
        row = await session.get(Tenant, tenant.tenant_id)  # type: ignore[attr-defined]
        assert row is not None
        assert signing_secrets(row) == (secret, original)
        assert signing_secrets(row, now=until + timedelta(seconds=1)) == (secret, None)
    signing = (await tenant.get("/tenant")).json()["callback_signing"]
    assert signing["rotated_at"] is not None and signing["previous_valid_until"] is not None
    # No grace: the old secret stops signing at once.
    again = (await admin.post(path, json={"grace_s": 0})).json()
    assert again["previous_valid_until"] is None
    async with api_app.state.db.session() as session:
        row = await session.get(Tenant, tenant.tenant_id)  # type: ignore[attr-defined]
        assert row is not None and signing_secrets(row) == (again["callback_secret"], None)
    too_long = await admin.post(path, json={"grace_s": 10**9})
    assert too_long.status_code == 422
    unknown = await admin.post("/admin/tenants/tn_nope/callback-secret", json={})
    assert unknown.status_code == 404


async def test_tenant_needs_a_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/api/v1/tenant")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
