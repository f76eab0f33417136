"""The durable copy of every evaluation's log, in the database (the truth).

The live log is a Redis stream that expires (and `evalpod up`'s embedded Redis keeps
nothing across restarts). When a job ends, its trial or its run, the entries of the
stream not yet archived are copied into one `evaluation_log_chunks` row: newline-
delimited JSON, zlib-compressed, in a binary column, so whatever the job printed (NUL
bytes included) is kept exactly on PostgreSQL and SQLite alike. `/logs` serves the
archive first and the stream after it, so a reader sees one log either way.

Caps, per archived job (the trial, and each run attempt): the stream keeps the last
`log_stream_maxlen` entries and the archive at most `log_archive_max_bytes` of line
text; when a job's log is over, its tail is kept and the chunk records how many lines
and bytes were dropped from its start (readers get an `evalpod` line saying so).

Progress reports (`progress` entries) are live state, not history: a job's chunk keeps
only the last report of each bar (its final state), so a replayed log shows where each
bar ended without thousands of intermediate reports.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from evalpod.db import Database
from evalpod.logs.stream import START, LogEntry, StreamId, read_range
from evalpod.orm import Base, utcnow

ARCHIVE_ATTEMPTS = 3


class LogChunk(Base):
    """One archived job's log (or what was left of it in the stream), oldest first by id."""

    __tablename__ = "evaluation_log_chunks"
    __table_args__ = (UniqueConstraint("evaluation_id", "first_entry_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[str] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True)
    first_entry_id: Mapped[str] = mapped_column(String(41))
    last_entry_id: Mapped[str] = mapped_column(String(41))
    entries: Mapped[int] = mapped_column(Integer)
    text_bytes: Mapped[int] = mapped_column(BigInteger)
    dropped_entries: Mapped[int] = mapped_column(Integer, default=0)
    dropped_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _encode(entry: LogEntry) -> bytes:
    # ensure_ascii: the body is valid ASCII whatever the text holds.
    row = [entry.id, entry.kind, entry.text, entry.phase, entry.source, int(entry.continues)]
    return json.dumps(row).encode("ascii") + b"\n"


def _decode(line: bytes) -> LogEntry:
    entry_id, kind, text, phase, source, continues = json.loads(line)
    return LogEntry(entry_id, kind, text, phase=phase, source=source,
                    continues=bool(continues))


def _size(entry: LogEntry) -> int:
    return len(entry.text.encode("utf-8", "replace"))


def _keep_tail(entries: list[LogEntry], max_bytes: int) -> int:
    """Index of the first entry kept so the kept text fits `max_bytes` (`end` always kept)."""
    total = 0
    for index in range(len(entries) - 1, -1, -1):
        if entries[index].kind == "log":
            total += _size(entries[index])
        if total > max_bytes:
            return min(index + 1, len(entries) - 1)
    return 0


async def _last_archived(db: Database, evaluation_id: str) -> StreamId:
    async with db.session() as session:
        last = await session.scalar(
            select(LogChunk.last_entry_id).where(LogChunk.evaluation_id == evaluation_id)
            .order_by(LogChunk.id.desc()).limit(1))
    return StreamId.parse(last) or START


async def _unarchived(redis: Redis, evaluation_id: str, after: StreamId) -> list[LogEntry]:
    entries: list[LogEntry] = []
    while page := await read_range(redis, evaluation_id, after):
        entries += page
        after = page[-1].stream_id
    return entries


def _bar_of(entry: LogEntry) -> object:
    try:
        report = json.loads(entry.text)
    except ValueError:
        return None
    return report.get("bar") if isinstance(report, dict) else None


def _last_reports_only(entries: list[LogEntry]) -> list[LogEntry]:
    """`entries` with each bar's progress reports but the last left out (the last entry,
    whatever it is, is always kept: the next archive pass starts after it)."""
    seen: set[tuple[str, object]] = set()
    kept: list[LogEntry] = []
    for entry in reversed(entries):
        if entry.kind == "progress":
            bar = (entry.phase, _bar_of(entry))
            if bar in seen:
                continue
            seen.add(bar)
        kept.append(entry)
    kept.reverse()
    return kept


def _chunk(evaluation_id: str, entries: list[LogEntry], max_bytes: int) -> LogChunk:
    entries = _last_reports_only(entries)
    start = _keep_tail(entries, max_bytes)
    kept, dropped = entries[start:], entries[:start]
    compressor = zlib.compressobj(1)  # 3x faster than the default, 15 % larger
    body = b"".join(compressor.compress(_encode(entry)) for entry in kept)
    return LogChunk(
        evaluation_id=evaluation_id, first_entry_id=kept[0].id, last_entry_id=kept[-1].id,
        entries=len(kept), text_bytes=sum(_size(e) for e in kept if e.kind == "log"),
        dropped_entries=len(dropped), dropped_bytes=sum(_size(e) for e in dropped),
        body=body + compressor.flush(),
    )


async def archive_log(db: Database, redis: Redis, evaluation_id: str, *, max_bytes: int) -> int:
    """Copy the stream's entries after the last archived one into a new chunk.

    Returns how many entries were read from the stream (0: nothing new, or the stream
    is gone). Safe to call concurrently and repeatedly: a chunk starting where another
    archiver's starts is refused by the unique key and the pass starts again. Raises
    Redis and database errors.
    """
    for _ in range(ARCHIVE_ATTEMPTS):
        after = await _last_archived(db, evaluation_id)
        entries = await _unarchived(redis, evaluation_id, after)
        if not entries:
            return 0
        # Encoding and compressing megabytes would stall every other job's log lines.
        chunk = await asyncio.to_thread(_chunk, evaluation_id, entries, max_bytes)
        try:
            async with db.session() as session:
                session.add(chunk)
        except IntegrityError:
            continue  # another archiver copied from the same point first
        return len(entries)
    return 0


def _entries(body: bytes) -> Iterator[LogEntry]:
    """Decompress a chunk one entry at a time (a chunk can hold megabytes of text)."""
    decompressor = zlib.decompressobj()
    pending = b""
    for start in range(0, len(body), 64 * 1024):
        pending += decompressor.decompress(body[start:start + 64 * 1024])
        *lines, pending = pending.split(b"\n")
        yield from (_decode(line) for line in lines if line)
    pending += decompressor.flush()
    yield from (_decode(line) for line in pending.split(b"\n") if line)


def _dropped_note(chunk: LogChunk, first: LogEntry) -> LogEntry:
    text = (f"{chunk.dropped_entries} earlier lines ({chunk.dropped_bytes} bytes) of this "
            f"job's log were over the archive's cap; its last {chunk.text_bytes} bytes follow")
    return LogEntry("", "log", text, phase=first.phase, source="evalpod")


async def archived_after(db: Database, evaluation_id: str, after: StreamId
                         ) -> AsyncIterator[LogEntry]:
    """Archived entries with ids after `after`, oldest first; one short session per chunk."""
    async with db.session() as session:
        chunks = (await session.execute(
            select(LogChunk.id, LogChunk.last_entry_id)
            .where(LogChunk.evaluation_id == evaluation_id).order_by(LogChunk.id))).all()
    for chunk_id, last_entry_id in chunks:
        if (StreamId.parse(last_entry_id) or START) <= after:
            continue
        async with db.session() as session:
            chunk = await session.get(LogChunk, chunk_id)
        if chunk is None:
            continue
        first = True
        for entry in _entries(chunk.body):
            if first and chunk.dropped_entries and entry.stream_id > after:
                yield _dropped_note(chunk, entry)
            first = False
            if entry.stream_id > after:
                yield entry
