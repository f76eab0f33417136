"""A rotated callback secret, end to end: deliveries verify with the doc's own code under the
old secret during the grace period, under the new one always, and the old one stops
signing when the grace period ends."""

from __future__ import annotations

import asyncio
import json

import httpx
from aiohttp import web

from evalpod.db import get_database
from evalpod.keys import Role, create_key
from evalpod.orm import Tenant
from tests.callback_docs import load_verifier
from tests.stack import Stack, free_port

SCRIPT = "def evaluate_model(model):\n    return {'score': 0.5}\n"


async def _deliver_one(stack: Stack, url: str,
                       received: asyncio.Queue[tuple[dict[str, str], bytes]]
                       ) -> tuple[dict[str, str], bytes]:
    """Submit, cancel at once (a terminal status), and wait for its callback."""
    evaluation_id = (await stack.submit(SCRIPT, callback_url=url)).json()["evaluation_id"]
    cancelled = await stack.http.post(f"/evaluations/{evaluation_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    async def its_callback() -> tuple[dict[str, str], bytes]:
        while True:
            headers, body = await received.get()
            if json.loads(body)["evaluation_id"] == evaluation_id:
                return headers, body

    try:
        # Woken by the delivery itself; the bound only ends a wait that would hang.
        return await asyncio.wait_for(its_callback(), timeout=120)
    except TimeoutError:
        record = (await stack.http.get(f"/evaluations/{evaluation_id}")).json()
        raise AssertionError(f"no callback delivered: {record['status']}, "
                             f"attempts {record['callbacks']}") from None


async def test_rotation_signs_with_both_secrets_for_the_grace_period(stack: Stack) -> None:
    verify = load_verifier()
    received: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        received.put_nowait((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/hook"
    async with get_database(stack.settings.database_dsn()).session() as session:
        _, admin_key = await create_key(session, "ops", Role.admin)
    tenant_id = (await stack.http.get("/tenant")).json()["tenant_id"]
    async with get_database(stack.settings.database_dsn()).session() as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        old = tenant.callback_secret  # what the receiver saved when the tenant was made
    admin = httpx.AsyncClient(base_url=stack.url + "/api/v1", timeout=30,
                              headers={"Authorization": f"Bearer {admin_key}"})
    try:
        rotated = await admin.post(f"/admin/tenants/{tenant_id}/callback-secret",
                                   json={"grace_s": 3600})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["callback_secret"]
        headers, body = await _deliver_one(stack, url, received)
        assert verify([old], headers, body) and verify([new], headers, body)
        assert verify([new, old], headers, body)
        assert not verify(["whsec_" + "0" * 64], headers, body)

        dropped = await admin.post(f"/admin/tenants/{tenant_id}/callback-secret",
                                   json={"grace_s": 0})
        newest = dropped.json()["callback_secret"]
        headers, body = await _deliver_one(stack, url, received)
        assert "X-Evalpod-Signature-Previous" not in headers
        assert verify([newest], headers, body)
        assert not verify([old], headers, body) and not verify([new], headers, body)
    finally:
        await admin.aclose()
        await runner.cleanup()
