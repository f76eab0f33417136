"""Terminal-status callbacks: signed, retried with backoff from a worker, attempts recorded."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

from aiohttp import web

from evalpod.db import get_database
from evalpod.orm import Evaluation, Tenant
from tests.stack import Stack, free_port

SCRIPT = "def evaluate_model(model):\n    return {'score': 0.5}\n"


async def test_callback_is_signed_and_retried_until_delivered(stack: Stack) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=500 if len(received) == 1 else 204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        response = await stack.submit(SCRIPT, callback_url=f"http://127.0.0.1:{port}/hook")
        evaluation_id = response.json()["evaluation_id"]
        await stack.wait_for(evaluation_id, {"succeeded"})
        deadline = time.monotonic() + 30
        while len(received) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        await runner.cleanup()
    assert len(received) == 2
    headers, raw = received[1]
    payload = json.loads(raw)
    assert payload["evaluation_id"] == evaluation_id and payload["status"] == "succeeded"
    assert payload["result"] == {"score": 0.5}
    async with get_database(stack.settings.database_dsn()).session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        assert evaluation is not None
        tenant = await session.get(Tenant, evaluation.tenant_id)
    assert tenant is not None
    timestamp = headers["X-Evalpod-Timestamp"]
    expected = hmac.new(tenant.callback_secret.encode(), f"{timestamp}.".encode() + raw,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Evalpod-Signature"], "sha256=" + expected)
    assert abs(int(timestamp) - time.time()) < 60
    record = (await stack.http.get(f"/evaluations/{evaluation_id}")).json()
    attempts = [(c["attempt"], c["delivered"], c["response_code"]) for c in record["callbacks"]]
    assert attempts == [(1, False, 500), (2, True, 204)]

