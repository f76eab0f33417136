"""stream_logs and `evalpod logs` against a scripted SSE server over real HTTP.

The server sends what a conforming SSE server may send and what a job may print: raw
U+2028 and NEL inside data (only CR and LF end an SSE line), a line that reads like an end
event, a cut connection that must be resumed with Last-Event-ID, and an `end` event whose
status disagrees with the record (the record wins).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from evalpod import AsyncClient
from evalpod.sdk import ServerUnreachable, errors
from tests.stack import free_port

EVALUATION = "ev_stream"
FIRST = ["event: end", "data: succeeded", "before\u2028after-ls", "before\x85after-nel",
         "before\x0cafter-ff"]
RECORD = {"evaluation_id": EVALUATION, "status": "failed", "kind": "script",
          "model_id": "tiny-gpt2", "priority": 0, "tags": {}, "created_at": "2026-01-01T00:00:00Z",
          "config": {}, "updated_at": "2026-01-01T00:00:01Z", "error": "RuntimeError: real"}


def _log(event_id: str, text: str) -> bytes:
    data = json.dumps({"text": text, "phase": "run", "source": "job"}, ensure_ascii=False)
    return f"id: {event_id}\r\nevent: log\r\ndata: {data}\r\n\r\n".encode()


class ScriptedServer:
    def __init__(self) -> None:
        self.last_event_ids: list[str | None] = []
        self.url = ""
        self.retried_done = False
        self.opened_at: list[float] = []
        self.refusals = 1
        self.retry_after = 1

    async def logs(self, request: web.Request) -> web.StreamResponse:
        last = request.headers.get("Last-Event-ID")
        self.last_event_ids.append(last)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if last is None:
            for i, text in enumerate(FIRST, 1):
                await response.write(_log(f"{i}-0", text))
            return response  # cut before the end: the client must resume after 5-0
        await response.write(_log("6-0", "still running"))
        # The stream's own end says succeeded; the record says failed.
        await response.write(b"event: end\r\ndata: succeeded\r\n\r\n")
        return response

    async def endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_log("1-0", "tick 1"))
        for _ in range(600):  # the job runs on until the client goes away
            await asyncio.sleep(0.1)
            if request.transport is None or request.transport.is_closing():
                break
        return response

    async def retried_logs(self, request: web.Request) -> web.StreamResponse:
        """The first attempt's log ends, then the run is handed back and a second one runs."""
        last = request.headers.get("Last-Event-ID")
        self.last_event_ids.append(last)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if last is None:
            await response.write(_log("1-0", "attempt 1"))
        else:
            await response.write(_log("2-0", "attempt 2"))
            self.retried_done = True
        await response.write(b"event: end\r\ndata: failed\r\n\r\n")
        return response

    async def retried_record(self, _request: web.Request) -> web.Response:
        status = "succeeded" if self.retried_done else "validated"
        return web.json_response({**RECORD, "evaluation_id": "ev_retry", "status": status,
                                  "error": None})

    async def limited_logs(self, request: web.Request) -> web.StreamResponse:
        """429 RATE_LIMITED (Retry-After: 1) for the first `self.refusals` opens, then a log."""
        self.opened_at.append(asyncio.get_running_loop().time())
        if len(self.opened_at) <= self.refusals:
            return web.json_response(
                {"error": {"code": "RATE_LIMITED", "message": "too many requests",
                           "hint": "Wait for Retry-After seconds before the next request.",
                           "detail": {}}},
                status=429, headers={"Retry-After": str(self.retry_after)})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_log("1-0", "after the wait"))
        await response.write(b"event: end\r\ndata: succeeded\r\n\r\n")
        return response

    async def limited_record(self, _request: web.Request) -> web.Response:
        return web.json_response({**RECORD, "evaluation_id": "ev_limited",
                                  "status": "succeeded", "error": None})

    async def status(self, _request: web.Request) -> web.Response:
        # Still validating when `logs --follow` starts: it must follow from the trial on.
        return web.json_response({"evaluation_id": EVALUATION, "status": "pending_validation"})

    async def record(self, _request: web.Request) -> web.Response:
        return web.json_response(RECORD)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    app = web.Application()
    app.router.add_get(f"/api/v1/evaluations/{EVALUATION}/logs", scripted.logs)
    app.router.add_get(f"/api/v1/evaluations/{EVALUATION}/status", scripted.status)
    app.router.add_get("/api/v1/evaluations/ev_slow/logs", scripted.endless)
    app.router.add_get("/api/v1/evaluations/ev_slow/status", scripted.status)
    app.router.add_get("/api/v1/evaluations/ev_retry/logs", scripted.retried_logs)
    app.router.add_get("/api/v1/evaluations/ev_retry/status", scripted.status)
    app.router.add_get("/api/v1/evaluations/ev_retry", scripted.retried_record)
    app.router.add_get(f"/api/v1/evaluations/{EVALUATION}", scripted.record)
    app.router.add_get("/api/v1/evaluations/ev_limited/logs", scripted.limited_logs)
    app.router.add_get("/api/v1/evaluations/ev_limited/status", scripted.status)
    app.router.add_get("/api/v1/evaluations/ev_limited", scripted.limited_record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    scripted.url = f"http://127.0.0.1:{port}"
    yield scripted
    await runner.cleanup()


async def test_stream_logs_resumes_after_a_cut_and_keeps_every_character(
    server: ScriptedServer,
) -> None:
    async with AsyncClient(server.url, "ep_test") as client:
        events = [e async for e in client.stream_logs(EVALUATION)]
    lines = [e.line() for e in events if e.event == "log"]
    # Every character arrives as sent; the CLI neutralises them when it shows them.
    assert [line.text for line in lines if line] == [*FIRST, "still running"]
    assert server.last_event_ids == [None, "5-0"]
    assert events[-1].event == "end"


async def test_the_cli_prints_the_record_status_not_the_stream_s(server: ScriptedServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_URL": server.url, "EVALPOD_API_KEY": "ep_test"}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from evalpod.cli import main; main()", "logs", EVALUATION,
         "--follow"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    out = result.stdout.splitlines()
    # job lines carry the "| " prefix no evalpod line has
    assert out[:6] == ["| event: end", "| data: succeeded", "| before\\u2028after-ls",
                       "| before\\x85after-nel", "| before\u240cafter-ff", "| still running"]
    assert f"== {EVALUATION}: failed" in out and "error: RuntimeError: real" in out
    assert "succeeded" not in result.stdout.replace("data: succeeded", "")


async def test_ctrl_c_while_following_says_the_job_continues_and_how_to_return(
    server: ScriptedServer,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_URL": server.url, "EVALPOD_API_KEY": "ep_test"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from evalpod.cli import main; main()", "logs", "ev_slow",
         "--follow"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = await asyncio.to_thread(process.stdout.readline)  # following now
    process.send_signal(signal.SIGINT)
    rest, stderr = await asyncio.to_thread(process.communicate, timeout=30)
    assert first == "| tick 1\n" and rest == ""
    assert process.returncode == 130
    # status changes ("-- executing") come first on stderr; the Ctrl-C message is the last line
    assert stderr.strip().splitlines()[-1] == (
        "stopped following; ev_slow continues on the server. Reattach: evalpod logs ev_slow "
        "--follow   Cancel: evalpod cancel ev_slow")
    assert "Traceback" not in stderr


async def test_follow_goes_on_while_the_record_is_not_final(server: ScriptedServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env |= {"EVALPOD_URL": server.url, "EVALPOD_API_KEY": "ep_test"}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from evalpod.cli import main; main()", "logs", "ev_retry",
         "--follow"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[:3] == ["| attempt 1", "| attempt 2",
                                              "== ev_retry: succeeded"]
    assert "-- validated; following on" in result.stderr
    assert server.last_event_ids == [None, "1-0"]


async def test_a_stream_that_keeps_closing_early_ends_in_server_unreachable() -> None:
    async def closes(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        return response

    app = web.Application()
    app.router.add_get("/api/v1/evaluations/ev_x/logs", closes)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with AsyncClient(f"http://127.0.0.1:{port}", "ep_test") as client:
            with pytest.raises(ServerUnreachable) as failed:
                _: list[Any] = [e async for e in client.stream_logs("ev_x", max_reconnects=2)]
    finally:
        await runner.cleanup()
    assert "kept closing" in failed.value.reason


# A rate-limited log stream (429 RATE_LIMITED when it is opened or reopened) is waited out,
# honouring Retry-After, not ended with an error (new user: `--follow` died on a 429).

async def test_a_rate_limited_stream_is_reopened_after_its_retry_after(
    server: ScriptedServer,
) -> None:
    server.refusals = 2
    waits: list[tuple[float, str]] = []
    async with AsyncClient(server.url, "ep_test") as client:
        events = [e async for e in client.stream_logs(
            "ev_limited", on_retry=lambda delay, error: waits.append((delay, str(error))))]
    assert [e.line().text for e in events if e.event == "log"] == ["after the wait"]
    assert [delay for delay, _ in waits] == [1.0, 1.0]  # Retry-After, above the backoff
    assert all("RATE_LIMITED" in text for _, text in waits)
    gaps = [b - a for a, b in zip(server.opened_at, server.opened_at[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.9


async def test_a_retry_after_too_long_to_wait_is_the_rate_limit_error(
    server: ScriptedServer,
) -> None:
    server.refusals, server.retry_after = 10, 3600
    async with AsyncClient(server.url, "ep_test") as client:
        with pytest.raises(errors.RateLimited) as limited:
            _: list[Any] = [e async for e in client.stream_logs("ev_limited")]
    assert limited.value.retry_after_s == 3600 and len(server.opened_at) == 1


def _cli(server: ScriptedServer, *args: str) -> list[str]:
    return [sys.executable, "-c", "from evalpod.cli import main; main()", *args]


def _env(server: ScriptedServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    return env | {"EVALPOD_URL": server.url, "EVALPOD_API_KEY": "ep_test"}


async def test_the_cli_follow_says_it_waits_and_goes_on(server: ScriptedServer) -> None:
    result = await asyncio.to_thread(
        subprocess.run, _cli(server, "logs", "ev_limited", "--follow"), env=_env(server),
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[:2] == ["| after the wait", "== ev_limited: succeeded"]
    assert "-- rate limited; the log resumes in 1 s" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr


async def test_ctrl_c_during_the_wait_stops_following_at_once(server: ScriptedServer) -> None:
    server.refusals, server.retry_after = 10, 30
    process = subprocess.Popen(_cli(server, "logs", "ev_limited", "--follow"),
                               env=_env(server), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    line = ""
    while "rate limited" not in line:  # waiting 30 s for the stream now
        line = await asyncio.to_thread(process.stderr.readline)
        assert line, "the CLI ended before it waited"
    started = asyncio.get_running_loop().time()
    process.send_signal(signal.SIGINT)
    _, stderr = await asyncio.to_thread(process.communicate, timeout=30)
    assert asyncio.get_running_loop().time() - started < 5
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1].startswith("stopped following; ev_limited continues")
    assert "Traceback" not in stderr
