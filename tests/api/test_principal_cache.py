"""The per-replica principal cache: fast, yet revocations and limit changes apply at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.principal_cache import PrincipalCache
from evalpod.keys import Principal, Role, authenticate_digest, bump_auth_epoch, revoke_key
from tests.api.conftest import ClientFactory
from tests.api.test_submit_and_errors import assert_envelope


def _principal(n: int) -> Principal:
    return Principal(tenant_id=f"tn-{n}", key_id=f"key-{n}", role=Role.submitter)


def test_cache_is_bounded_and_expires() -> None:
    cache = PrincipalCache(ttl_s=0.05, max_entries=2)
    for n in range(3):
        cache.put(f"d{n}", _principal(n), "0")
    assert cache.get("d0") is None  # evicted, least recently used
    entry = cache.get("d2")
    assert entry is not None and entry.principal.key_id == "key-2" and entry.epoch == "0"
    cache_off = PrincipalCache(ttl_s=0)
    cache_off.put("d", _principal(0), "0")
    assert cache_off.get("d") is None


async def test_cached_key_is_refused_once_its_revocation_is_announced(
    api_app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/evaluations")).status_code == 200  # now cached
    async with api_app.state.db.session() as session:
        assert await revoke_key(session, client.key_id)  # type: ignore[attr-defined]
    await bump_auth_epoch(api_app.state.redis)  # what `evalpod keys revoke` does after commit
    assert_envelope(await client.get("/evaluations"), 401, "UNAUTHORIZED")


async def test_a_silent_revocation_applies_within_the_ttl(
    api_app: FastAPI, client: httpx.AsyncClient
) -> None:
    cache: PrincipalCache = api_app.state.principal_cache
    saved_ttl, cache.ttl_s = cache.ttl_s, 0.3
    try:
        cache.clear()
        assert (await client.get("/evaluations")).status_code == 200
        async with api_app.state.db.session() as session:  # plain SQL: nobody announces it
            assert await revoke_key(session, client.key_id)  # type: ignore[attr-defined]
        await asyncio.sleep(0.4)
        assert_envelope(await client.get("/evaluations"), 401, "UNAUTHORIZED")
    finally:
        cache.ttl_s = saved_ttl


async def test_new_tenant_limits_apply_to_the_next_request(
    make_client: ClientFactory, client: httpx.AsyncClient
) -> None:
    admin = await make_client(role=Role.admin)
    assert (await client.get("/evaluations")).status_code == 200  # cached with default limits
    tenant_id = client.tenant_id  # type: ignore[attr-defined]
    changed = await admin.put(f"/admin/tenants/{tenant_id}/limits", json={"burst_per_second": 1})
    assert changed.status_code == 200
    codes = [(await client.get("/evaluations")).status_code for _ in range(3)]
    assert 429 in codes


async def test_requests_that_miss_together_share_one_lookup(
    api_app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry expiring under load: the requests in flight wait for one database lookup,
    not one each (16 connections made 16 lookups every `ttl_s`)."""
    cache: PrincipalCache = api_app.state.principal_cache
    lookups = 0

    async def counted(session: Any, digest: str) -> Principal | None:
        nonlocal lookups
        lookups += 1
        return await authenticate_digest(session, digest)

    monkeypatch.setattr("api.deps.authenticate_digest", counted)
    cache.clear()
    codes = await asyncio.gather(*(client.get("/evaluations") for _ in range(8)))
    assert [r.status_code for r in codes] == [200] * 8
    assert lookups == 1
