"""`wait` against a scripted server over real HTTP: its pauses grow, and a RATE_LIMITED
answer is waited out for as long as the wait's own timeout allows (it gave up at once on
any Retry-After over 10 s, and polled every second until then)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from evalpod import AsyncClient, Client
from evalpod.sdk import WaitTimeout
from tests.sdk.test_stream_logs import RECORD
from tests.stack import free_port


class StatusServer:
    """/status: `refusals` 429s (Retry-After `retry_after`), then executing until the
    `finish_after`th answer, then succeeded."""

    def __init__(self) -> None:
        self.url = ""
        self.asked_at: list[float] = []
        self.refusals = 0
        self.retry_after = 2
        self.finish_after = 1_000_000

    async def status(self, _request: web.Request) -> web.Response:
        self.asked_at.append(asyncio.get_running_loop().time())
        if len(self.asked_at) <= self.refusals:
            return web.json_response(
                {"error": {"code": "RATE_LIMITED", "message": "too many requests this minute",
                           "hint": "", "detail": {}}},
                status=429, headers={"Retry-After": str(self.retry_after)})
        done = len(self.asked_at) >= self.finish_after
        return web.json_response({"evaluation_id": "ev_wait",
                                  "status": "succeeded" if done else "executing"})

    async def record(self, _request: web.Request) -> web.Response:
        return web.json_response({**RECORD, "evaluation_id": "ev_wait", "status": "succeeded",
                                  "error": None})


@pytest.fixture
async def server() -> AsyncIterator[StatusServer]:
    scripted = StatusServer()
    app = web.Application()
    app.router.add_get("/api/v1/evaluations/ev_wait/status", scripted.status)
    app.router.add_get("/api/v1/evaluations/ev_wait", scripted.record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    scripted.url = f"http://127.0.0.1:{port}"
    yield scripted
    await runner.cleanup()


async def test_the_pauses_between_polls_grow_to_the_cap(server: StatusServer) -> None:
    async with AsyncClient(server.url, "ep_test") as client:
        with pytest.raises(WaitTimeout) as timed_out:
            await client.wait("ev_wait", timeout_s=9, poll_interval_s=0.2,
                              max_poll_interval_s=2)
    assert timed_out.value.status == "executing"
    gaps = [b - a for a, b in itertools.pairwise(server.asked_at)]
    # 0.2, 0.3, 0.45, 0.68, 1.01, 1.52, 2, 2, ...: 9 s of waiting is about 9 polls, not 45.
    assert 7 <= len(server.asked_at) <= 11, gaps
    # Each pause at least the one before (the last is cut short by the timeout).
    assert gaps[0] < 0.5 and all(b >= a * 0.9 for a, b in itertools.pairwise(gaps[:-1]))
    assert max(gaps) < 2.5


async def test_a_long_retry_after_is_waited_out_within_the_timeout(
    server: StatusServer,
) -> None:
    # Retry-After 12 s: over the 10 s the SDK's own retries accept; a wait takes it.
    server.refusals, server.retry_after, server.finish_after = 1, 12, 2
    async with AsyncClient(server.url, "ep_test") as client:
        record = await client.wait("ev_wait", timeout_s=60)
    assert record.status == "succeeded"
    assert len(server.asked_at) == 2 and server.asked_at[1] - server.asked_at[0] >= 11.9


async def test_a_retry_after_past_the_timeout_ends_in_wait_timeout_at_the_timeout(
    server: StatusServer,
) -> None:
    server.refusals, server.retry_after = 100, 3600

    def wait() -> float:
        begin = time.monotonic()
        with Client(server.url, "ep_test") as client, pytest.raises(WaitTimeout):
            client.wait("ev_wait", timeout_s=2)
        return time.monotonic() - begin

    took = await asyncio.to_thread(wait)
    assert 2 <= took < 4
    assert len(server.asked_at) == 2  # refused, then once more at the timeout
