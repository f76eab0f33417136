"""The log writer on a real Redis: no line waits for the next print (#12.5)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import pytest
from redis.asyncio import Redis

import monitor.logs
from evalpod.logs.progress import MARKER, ProgressReport
from evalpod.logs.stream import LogEntry, StreamId, read_after, stream_key
from monitor.logs import LogWriter, logged
from orchestrator.sandbox import (
    OutputLine,
    ResourceLimits,
    SandboxJob,
    SandboxOutcome,
    Violation,
    ViolationKind,
)
from tests.conftest import REDIS_TEST_URL


async def _entries(redis: Redis, evaluation_id: str) -> list[LogEntry]:
    return await read_after(redis, evaluation_id, "0", block_ms=None, count=10_000)


@contextlib.asynccontextmanager
async def slow_redis(delay_s: float) -> AsyncIterator[Redis]:
    """A client whose commands reach the test Redis `delay_s` late (a TCP proxy)."""
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   delay: float) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        url = urlparse(REDIS_TEST_URL)
        server_r, server_w = await asyncio.open_connection(url.hostname, url.port or 6379)
        await asyncio.gather(pipe(client_r, server_w, delay_s), pipe(server_r, client_w, 0))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Redis(host="127.0.0.1", port=port, db=int(urlparse(REDIS_TEST_URL).path[1:]))
    try:
        yield client
    finally:
        await client.aclose()
        server.close()


async def test_a_line_written_during_a_send_goes_out_without_another_write(
    redis_client: Redis,
) -> None:
    """The report's case: a line printed while a send is in flight, then a long silence."""
    evaluation_id = f"ev_{uuid.uuid4().hex}"
    async with slow_redis(0.1) as slow:
        await slow.ping()
        writer = LogWriter(slow, evaluation_id, maxlen=1000)
        await writer.write("first")
        await asyncio.sleep(0.06)  # the send of "first" is in flight for another ~100 ms
        await writer.write("printed just before a long computation")
        deadline = time.monotonic() + 0.6
        while len(await _entries(redis_client, evaluation_id)) < 2:
            assert time.monotonic() < deadline, "the second line waited for another write"
            await asyncio.sleep(0.01)
        await writer.aclose()
    assert [e.text for e in await _entries(redis_client, evaluation_id)] == [
        "first", "printed just before a long computation"]


async def test_an_idle_writer_sends_at_once_and_keeps_order_under_load(
    redis_client: Redis,
) -> None:
    evaluation_id = f"ev_{uuid.uuid4().hex}"
    writer = LogWriter(redis_client, evaluation_id, maxlen=100_000, phase="trial")
    started = time.monotonic()
    await writer.write("one")
    while not await _entries(redis_client, evaluation_id):
        await asyncio.sleep(0.001)
    assert time.monotonic() - started < 0.05
    for i in range(3000):
        await writer.write(f"line {i}")
    await writer.note("trial run succeeded")
    await writer.write(OutputLine("piece", continues=True))
    await writer.aclose()
    entries = await _entries(redis_client, evaluation_id)
    assert [e.text for e in entries[1:3001]] == [f"line {i}" for i in range(3000)]
    assert {e.phase for e in entries} == {"trial"}
    assert (entries[-2].source, entries[-2].text) == ("evalpod", "trial run succeeded")
    assert {e.source for e in entries[:-2]} == {"job"}
    assert entries[-1].continues and not entries[-2].continues
    ids = [e.stream_id for e in entries]
    assert ids == sorted(ids)


async def test_a_redis_failure_drops_lines_without_failing_the_job() -> None:
    broken = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    writer = LogWriter(broken, "ev_nowhere", maxlen=10)
    await writer.write("lost")
    await writer.aclose()  # logged and dropped, never raised into the job's pump
    await broken.aclose()


def test_stream_ids_are_parsed_into_bounded_values() -> None:
    assert StreamId.parse("1700000000000-5") == StreamId(1700000000000, 5)
    assert StreamId.parse("17") == StreamId(17, 0)
    for bad in ["", None, "-", "1-", "x-1", "1-2-3", "\u0661\u0662", "99999999999999999999999-0",
                "1-18446744073709551616", "1 -2", "9" * 100]:
        assert StreamId.parse(bad) is None, bad
    assert str(StreamId.parse("18446744073709551615-0")) == "18446744073709551615-0"
    assert stream_key("ev_1") == "evalpod:logs:ev_1"


async def test_a_run_is_framed_by_evalpod_lines_saying_what_ran_and_how_it_ended(
    redis_client: Redis,
) -> None:
    evaluation_id = f"ev_{uuid.uuid4().hex}"
    writer = LogWriter(redis_client, evaluation_id, maxlen=1000)
    job = SandboxJob(job_id="framed", script="", model_id="tiny-gpt2",
                     limits=ResourceLimits(timeout_s=3, memory_mb=512))

    async def run() -> SandboxOutcome:
        await writer.write("[evalpod] run finished")  # the job's text, whatever it says
        return SandboxOutcome(status="killed", duration_s=3.02, violation=Violation(
            kind=ViolationKind.timeout, detail="ran past 3 s"))

    outcome = await logged(writer, job, run())
    await writer.aclose()
    assert outcome.status == "killed"
    entries = await _entries(redis_client, evaluation_id)
    assert [(e.source, e.text) for e in entries] == [
        ("evalpod", "run: model tiny-gpt2, at most 3 s with start-up, 512 MiB"),
        ("job", "[evalpod] run finished"),
        ("evalpod", "run killed after 3.02 s: timeout: ran past 3 s"),
    ]


def _forged_marker(i: int) -> str:
    """Line `i` of /tmp/attack/p1_progress_flood.py's stream: bar 0 done 1 of 1 (final),
    then done 0 of 0 (a restart), alternating."""
    done = i % 2
    return MARKER + json.dumps({"bar": 0, "done": done, "total": done,
                                "description": f"fake {i}"})


async def test_forged_finals_and_restarts_are_throttled_like_any_report(
    redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's flood (finding 4): 2,000 marker lines alternating a final report and
    a restart, and 1,000 more over 16 bars; each bar stores one run (its start and its
    end) per interval, not every final."""
    monkeypatch.setattr(monitor.logs, "PROGRESS_INTERVAL_S", 3600.0)  # one interval
    evaluation_id = f"ev_{uuid.uuid4().hex}"
    writer = LogWriter(redis_client, evaluation_id, maxlen=100_000)
    for i in range(2000):
        await writer.write(_forged_marker(i))
    for i in range(1000):
        await writer.write(MARKER + json.dumps({"bar": i % 16, "done": (i // 16) % 2,
                                                "total": (i // 16) % 2}))
    await writer.aclose()
    entries = await _entries(redis_client, evaluation_id)
    assert {e.kind for e in entries} == {"progress"}
    reports = [ProgressReport.model_validate_json(e.text) for e in entries]
    # Bar 0: its first report (a restart: 0 of an unknown total) and one final; bars
    # 1..15: the same, at most.
    assert len(entries) <= 2 * 16, [(r.bar, r.done, r.total) for r in reports]
    assert [(r.done, r.total) for r in reports if r.bar == 0] == [(0, None), (1, 1)]
    assert all(r.total is None or r.total > 0 for r in reports)


async def test_a_bar_restarted_after_the_interval_shows_its_new_run_and_its_end(
    redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor.logs, "PROGRESS_INTERVAL_S", 3600.0)
    evaluation_id = f"ev_{uuid.uuid4().hex}"
    writer = LogWriter(redis_client, evaluation_id, maxlen=1000)

    async def report(done: int, total: int) -> None:
        await writer.write(MARKER + json.dumps({"bar": 0, "done": done, "total": total}))

    await report(0, 2)          # stored: the bar's first report
    await report(1, 2)          # too soon
    await report(2, 2)          # stored: the end of its first run
    await report(2, 2)          # the same end again: not stored
    await report(0, 2)          # a restart, too soon: not stored
    await report(2, 2)          # its end: not stored (its start was not)
    monkeypatch.setattr(monitor.logs, "PROGRESS_INTERVAL_S", 0.0)  # the interval passed
    await report(1, 2)          # stored: the interval has passed
    await report(2, 2)          # stored: the end of this run
    await writer.aclose()
    entries = await _entries(redis_client, evaluation_id)
    done = [ProgressReport.model_validate_json(e.text).done for e in entries]
    assert done == [0, 2, 1, 2]
