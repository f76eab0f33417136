"""The real app on PostgreSQL and Redis, in-process over ASGI; no workers, so jobs stay queued."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from evalpod.db import get_database
from evalpod.keys import Role, create_key
from evalpod.registry import register_model
from tests.stack import stack_settings

ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture(scope="session")
async def api_app(pg_dsn: str, tiny_model_dir: Path) -> AsyncIterator[FastAPI]:
    # A fake device list: GPU requests pass the host check; no worker runs them here.
    settings = stack_settings(pg_dsn, redis_db=15, callback_allow_private=False,
                              gpu_devices="0,1")
    async with get_database(settings.database_dsn()).session() as session:
        await register_model(session, tiny_model_dir, "tiny-gpt2", model_id="tiny-gpt2")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def make_client(api_app: FastAPI) -> AsyncIterator[ClientFactory]:
    """A client with a new key of a fresh tenant (or of the tenant given)."""
    clients: list[httpx.AsyncClient] = []

    async def factory(tenant: str | None = None, role: Role = Role.submitter
                      ) -> httpx.AsyncClient:
        async with api_app.state.db.session() as session:
            key_row, key = await create_key(session, tenant or f"t-{uuid.uuid4().hex[:8]}", role)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api_app), base_url="http://test/api/v1",
            headers={"Authorization": f"Bearer {key}"})
        client.key_id = key_row.id  # type: ignore[attr-defined]
        client.tenant_id = key_row.tenant_id  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(make_client: ClientFactory) -> httpx.AsyncClient:
    return await make_client()


@pytest.fixture
async def anonymous(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app),
                                 base_url="http://test") as anon:
        yield anon
