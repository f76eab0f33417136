"""The durable log archive on PostgreSQL and SQLite (#12.2): every line, the end, caps."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy import func, select

from evalpod.db import Database, get_database
from evalpod.keys import ensure_tenant
from evalpod.logs.archive import LogChunk, archive_log, archived_after
from evalpod.logs.stream import START, LogEntry, StreamId, close_stream, stream_key
from evalpod.orm import Evaluation, Model, new_id
from evalpod.settings import Settings, get_settings
from evalpod.terminal import PENDING_ARCHIVE_KEY, archive_job_log, archive_pending_logs
from monitor.logs import LogWriter
from orchestrator.sandbox import OutputLine


async def _evaluation(dsn: str) -> str:
    async with get_database(dsn).session() as session:
        tenant = await ensure_tenant(session, "log-archive")
        if await session.get(Model, "m-logs") is None:
            session.add(Model(id="m-logs", name="m", storage_path="/x", checksum="0"))
            await session.flush()
        evaluation_id = new_id("ev")
        session.add(Evaluation(id=evaluation_id, tenant_id=tenant.id, model_id="m-logs",
                               status="executing"))
    return evaluation_id


async def _archived(dsn: str, evaluation_id: str, after: StreamId = START) -> list[LogEntry]:
    return [e async for e in archived_after(get_database(dsn), evaluation_id, after)]


async def test_trial_and_run_are_archived_and_served_after_the_stream_is_gone(
    any_dsn: str, redis_client: Redis,
) -> None:
    db = get_database(any_dsn)
    evaluation_id = await _evaluation(any_dsn)
    trial = LogWriter(redis_client, evaluation_id, maxlen=1000, phase="trial")
    await trial.write("trial says \x00 NUL and \x1b[31m escapes")
    await trial.note("trial run succeeded after 0.50 s")
    await trial.aclose()
    assert await archive_log(db, redis_client, evaluation_id, max_bytes=1 << 20) == 2
    run = LogWriter(redis_client, evaluation_id, maxlen=1000)
    for i in range(5):
        await run.write(f"line {i}")
    await run.write(OutputLine("€" * 10, continues=True))
    await run.write("tail")
    await run.aclose()
    await close_stream(redis_client, evaluation_id, "succeeded", ttl_s=60)
    assert await archive_log(db, redis_client, evaluation_id, max_bytes=1 << 20) == 8
    assert await archive_log(db, redis_client, evaluation_id, max_bytes=1 << 20) == 0

    await redis_client.delete(stream_key(evaluation_id))  # a restarted embedded Redis
    entries = await _archived(any_dsn, evaluation_id)
    assert [(e.phase, e.source, e.text) for e in entries[:2]] == [
        ("trial", "job", "trial says \x00 NUL and \x1b[31m escapes"),
        ("trial", "evalpod", "trial run succeeded after 0.50 s")]
    assert [e.text for e in entries[2:7]] == [f"line {i}" for i in range(5)]
    assert entries[7].continues and entries[7].text == "€" * 10
    assert (entries[-1].kind, entries[-1].text) == ("end", "succeeded")
    resumed = await _archived(any_dsn, evaluation_id, entries[3].stream_id)
    assert [e.text for e in resumed] == [e.text for e in entries[4:]]


async def test_over_the_cap_the_tail_is_kept_and_the_drop_is_said(
    any_dsn: str, redis_client: Redis,
) -> None:
    db = get_database(any_dsn)
    evaluation_id = await _evaluation(any_dsn)
    writer = LogWriter(redis_client, evaluation_id, maxlen=100_000)
    for i in range(2000):
        await writer.write(f"{i:04d}" + "x" * 96)  # 100 bytes a line
    await writer.aclose()
    await close_stream(redis_client, evaluation_id, "failed", ttl_s=60)
    await archive_log(db, redis_client, evaluation_id, max_bytes=64 * 1024)
    entries = await _archived(any_dsn, evaluation_id)
    note, kept, end = entries[0], entries[1:-1], entries[-1]
    assert note.source == "evalpod" and "1345 earlier lines (134500 bytes)" in note.text
    assert len(kept) == 655 and kept[-1].text.startswith("1999")
    assert end.kind == "end"


async def test_concurrent_archivers_copy_each_entry_once(
    any_dsn: str, redis_client: Redis,
) -> None:
    db = get_database(any_dsn)
    evaluation_id = await _evaluation(any_dsn)
    writer = LogWriter(redis_client, evaluation_id, maxlen=1000)
    for i in range(50):
        await writer.write(f"line {i}")
    await writer.aclose()
    await close_stream(redis_client, evaluation_id, "cancelled", ttl_s=60)
    await asyncio.gather(*(archive_log(db, redis_client, evaluation_id, max_bytes=1 << 20)
                           for _ in range(4)))
    entries = await _archived(any_dsn, evaluation_id)
    assert [e.text for e in entries[:-1]] == [f"line {i}" for i in range(50)]
    async with db.session() as session:
        chunks = await session.scalar(select(func.count()).select_from(LogChunk)
                                      .where(LogChunk.evaluation_id == evaluation_id))
    assert chunks == 1


@dataclass
class _Services:
    settings: Settings
    db: Database
    redis: ArqRedis


async def test_an_archive_that_fails_at_the_end_is_retried_by_the_monitor_pass(
    any_dsn: str, redis_client: ArqRedis,
) -> None:
    evaluation_id = await _evaluation(any_dsn)
    writer = LogWriter(redis_client, evaluation_id, maxlen=1000)
    await writer.write("kept through a database outage")
    await writer.aclose()
    down = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        await archive_job_log(_Services(get_settings(), down, redis_client), evaluation_id)
    finally:
        await down.dispose()
    assert await _archived(any_dsn, evaluation_id) == []
    assert await redis_client.sismember(PENDING_ARCHIVE_KEY, evaluation_id)  # type: ignore[misc]
    services = _Services(get_settings(), get_database(any_dsn), redis_client)
    assert await archive_pending_logs(services) >= 1
    assert [e.text for e in await _archived(any_dsn, evaluation_id)] == [
        "kept through a database outage"]
    assert not await redis_client.sismember(  # type: ignore[misc]
        PENDING_ARCHIVE_KEY, evaluation_id)
