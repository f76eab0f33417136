"""The live log of one evaluation: a Redis stream shared by its trial and its run.

Each entry is one line (`t=log`), a progress report (`t=progress`, field `data` the JSON of
`evalpod.logs.progress.ProgressReport`, validated when written) or the final `t=end`
carrying the terminal status.
A line's fields: `line` (the text as the job printed it, control characters and all),
`p` the phase (`trial` or `run`), `s` the source (`job`: anything the sandbox printed,
harness included; `evalpod`: a line the host wrote, which no job can forge) and `c=1`
when the line continues in the next entry (a long line cut between characters).
Stream ids are the SSE event ids, so `Last-Event-ID` resumes, live or from the archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

STREAM_PREFIX = "evalpod:logs:"
MAX_STREAM_PART = 2**64 - 1

Phase = Literal["trial", "run"]
Source = Literal["job", "evalpod"]
EntryKind = Literal["log", "progress", "end"]


def stream_key(evaluation_id: str) -> str:
    return STREAM_PREFIX + evaluation_id


@dataclass(frozen=True, order=True)
class StreamId:
    """A Redis stream id `<ms>-<seq>`, each part an unsigned 64-bit integer."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, value: str | None) -> StreamId | None:
        """The id in `value`, or None for anything that is not one (never raises)."""
        if not value or len(value) > 41:
            return None
        first, dash, second = value.strip().partition("-")
        if not (first.isascii() and first.isdigit()) or (
            dash and not (second.isascii() and second.isdigit())
        ):
            return None
        ms, seq = int(first), int(second) if dash else 0
        if ms > MAX_STREAM_PART or seq > MAX_STREAM_PART:
            return None
        return cls(ms, seq)

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


START = StreamId(0, 0)


@dataclass(frozen=True)
class LogEntry:
    """One entry of the log; for `end`, `text` is the terminal status; for `progress`, the
    report's JSON."""

    id: str
    kind: EntryKind
    text: str
    phase: Phase = "run"
    source: Source = "job"
    continues: bool = False

    @property
    def stream_id(self) -> StreamId:
        parsed = StreamId.parse(self.id)
        return parsed if parsed is not None else START

    def fields(self) -> dict[str, str]:
        """The stream entry's fields (what XADD writes)."""
        if self.kind == "end":
            return {"t": "end", "status": self.text}
        if self.kind == "progress":
            return {"t": "progress", "data": self.text, "p": self.phase}
        fields = {"t": "log", "line": self.text, "p": self.phase, "s": self.source}
        if self.continues:
            fields["c"] = "1"
        return fields


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def entry_from_stream(entry_id: Any, raw: dict[Any, Any]) -> LogEntry:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    if fields.get("t") == "end":
        return LogEntry(_text(entry_id), "end", fields.get("status", ""))
    if fields.get("t") == "progress":
        return LogEntry(_text(entry_id), "progress", fields.get("data", ""),
                        phase="trial" if fields.get("p") == "trial" else "run")
    return LogEntry(
        _text(entry_id), "log", fields.get("line", ""),
        phase="trial" if fields.get("p") == "trial" else "run",
        source="evalpod" if fields.get("s") == "evalpod" else "job",
        continues=fields.get("c") == "1",
    )


async def close_stream(redis: Redis, evaluation_id: str, status: str, *, ttl_s: int) -> None:
    """Mark the end of the log; readers stop after this entry."""
    key = stream_key(evaluation_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(key, {"t": "end", "status": status})
        pipe.expire(key, ttl_s)
        await pipe.execute()


async def read_after(
    redis: Redis, evaluation_id: str, after: StreamId | str, *, block_ms: int | None,
    count: int = 500,
) -> list[LogEntry]:
    """Entries strictly after `after`; with `block_ms`, waits that long for the first one."""
    response = await redis.xread({stream_key(evaluation_id): str(after)}, count=count,
                                 block=block_ms)
    entries: list[LogEntry] = []
    for _key, items in response or []:
        entries.extend(entry_from_stream(entry_id, fields) for entry_id, fields in items)
    return entries


async def read_range(redis: Redis, evaluation_id: str, after: StreamId,
                     count: int = 1000) -> list[LogEntry]:
    """Up to `count` entries strictly after `after`, without blocking."""
    items = await redis.xrange(stream_key(evaluation_id), min=f"({after}", count=count)
    return [entry_from_stream(entry_id, fields) for entry_id, fields in items]
