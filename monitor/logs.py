"""Per-evaluation log streams in Redis: the monitor appends, the SSE endpoint reads.

Each line is one stream entry (`t=log`, `line=…`); a final `t=end` entry carries
the terminal status. Stream ids are the SSE event ids, so `Last-Event-ID` resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

STREAM_PREFIX = "evalpod:logs:"
MAX_LINE_CHARS = 16 * 1024


def stream_key(evaluation_id: str) -> str:
    return STREAM_PREFIX + evaluation_id


@dataclass(frozen=True)
class LogEntry:
    id: str
    kind: Literal["log", "end"]
    text: str


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _entry(entry_id: Any, fields: dict[Any, Any]) -> LogEntry:
    decoded = {_text(k): _text(v) for k, v in fields.items()}
    if decoded.get("t") == "end":
        return LogEntry(_text(entry_id), "end", decoded.get("status", ""))
    return LogEntry(_text(entry_id), "log", decoded.get("line", ""))


class LogWriter:
    """Buffers lines and flushes them in one pipeline every `interval_s` or `batch` lines."""

    def __init__(
        self,
        redis: Redis,
        evaluation_id: str,
        *,
        maxlen: int,
        interval_s: float = 0.05,
        batch: int = 200,
    ) -> None:
        self._redis = redis
        self._key = stream_key(evaluation_id)
        self._maxlen = maxlen
        self._interval_s = interval_s
        self._batch = batch
        self._buffer: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def write(self, line: str) -> None:
        self._buffer.append(line[:MAX_LINE_CHARS])
        if len(self._buffer) >= self._batch:
            await self.flush()
        elif self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._interval_s)
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            lines, self._buffer = self._buffer, []
            if not lines:
                return
            async with self._redis.pipeline(transaction=False) as pipe:
                for line in lines:
                    pipe.xadd(self._key, {"t": "log", "line": line}, maxlen=self._maxlen,
                              approximate=True)
                await pipe.execute()

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


async def append_line(redis: Redis, evaluation_id: str, line: str, *, maxlen: int) -> None:
    await redis.xadd(stream_key(evaluation_id), {"t": "log", "line": line[:MAX_LINE_CHARS]},
                     maxlen=maxlen, approximate=True)


async def close_stream(redis: Redis, evaluation_id: str, status: str, *, ttl_s: int) -> None:
    """Mark the end of the log; readers stop after this entry."""
    key = stream_key(evaluation_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(key, {"t": "end", "status": status})
        pipe.expire(key, ttl_s)
        await pipe.execute()


async def read_after(
    redis: Redis, evaluation_id: str, after: str, *, block_ms: int | None, count: int = 500
) -> list[LogEntry]:
    """Entries strictly after `after` (a stream id, or "0" for the start)."""
    response = await redis.xread({stream_key(evaluation_id): after}, count=count, block=block_ms)
    entries: list[LogEntry] = []
    for _key, items in response or []:
        entries.extend(_entry(entry_id, fields) for entry_id, fields in items)
    return entries


async def read_all_lines(redis: Redis, evaluation_id: str) -> list[str]:
    items = await redis.xrange(stream_key(evaluation_id))
    return [e.text for e in (_entry(i, f) for i, f in items) if e.kind == "log"]
