"""Writing a job's output into its evaluation's live log stream (`evalpod.logs.stream`).

The writer sends each line as soon as the previous send is done: an idle writer sends
a line at once, a busy one sends everything that queued up meanwhile in one pipeline,
and no line ever waits for the next print.

A progress report the job printed (a marker line, `evalpod.logs.progress`) becomes a
`progress` entry instead of a line, at most one per bar every `PROGRESS_INTERVAL_S`,
plus the bar's final report once per run of the bar (`_BarThrottle`): the harness already
sends at most five a second, and a script printing marker lines itself (finals and
restarts alternating, say) cannot fill the stream with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable

from redis.asyncio import Redis

from evalpod.logs.progress import MARKER, parse_report
from evalpod.logs.stream import (
    LogEntry,
    Phase,
    Source,
    close_stream,
    entry_from_stream,
    read_after,
    stream_key,
)
from evalpod.terminal import HasServices, archive_job_log
from orchestrator.sandbox import SandboxJob, SandboxOutcome

__all__ = [
    "LogEntry",
    "LogWriter",
    "close_stream",
    "end_note",
    "job_log",
    "logged",
    "read_after",
    "stream_key",
]

log = logging.getLogger("evalpod.monitor.logs")

MAX_BATCH = 500
SEND_ATTEMPTS = 3
RETRY_S = 0.05
PROGRESS_INTERVAL_S = 0.15
# How far back `LogWriter.header` looks for an earlier attempt's lines.
RESTART_LOOKBACK = 1000
# A sandbox start-up this long or longer is named in the end line, apart from the script.
STARTUP_NOTE_MIN_S = 2.0


class _BarThrottle:
    """Which of one bar's reports become entries: at most two every `PROGRESS_INTERVAL_S`.

    A report that is not final (the bar moving, or starting again after its end) is
    stored when the bar's last entry is `PROGRESS_INTERVAL_S` old; a final one is stored
    when the bar's last entry was not final, so a bar's end is always shown, once per
    run, and a run only counts once its restart was stored.
    """

    __slots__ = ("ended", "sent_at")

    def __init__(self) -> None:
        self.sent_at: float | None = None
        self.ended = False

    def admit(self, final: bool, now: float) -> bool:
        if final:
            if self.ended:
                return False
        elif self.sent_at is not None and now - self.sent_at < PROGRESS_INTERVAL_S:
            return False
        self.sent_at, self.ended = now, final
        return True


class LogWriter:
    """Appends one job's lines (`phase` trial or run) to its evaluation's stream.

    `write` is the `LineSink` a backend gets; `note` adds a line of evalpod's own
    (`source=evalpod`). Neither blocks on Redis. A send is tried three times; then it
    is logged and its lines dropped: the job goes on, the archive keeps what the stream
    holds.
    """

    def __init__(
        self, redis: Redis, evaluation_id: str, *, maxlen: int, phase: Phase = "run"
    ) -> None:
        self._redis = redis
        self._key = stream_key(evaluation_id)
        self._maxlen = maxlen
        self._phase: Phase = phase
        self._buffer: list[dict[str, str]] = []
        self._sender: asyncio.Task[None] | None = None
        self._bars: dict[int, _BarThrottle] = {}

    @property
    def phase(self) -> Phase:
        return self._phase

    async def write(self, line: str) -> None:
        """Queue one line the job printed (an `OutputLine` may mark `continues`); a
        progress report's marker line becomes a `progress` entry (or nothing, when its
        bar's throttle says so: `_BarThrottle`)."""
        continues = bool(getattr(line, "continues", False))
        if not continues and line.startswith(MARKER):
            report = parse_report(line)
            if report is not None:
                bar = self._bars.setdefault(report.bar, _BarThrottle())
                if bar.admit(report.final, time.monotonic()):
                    self._append(LogEntry("*", "progress", report.model_dump_json(),
                                          phase=self._phase))
                return
        self._queue(line, "job", continues=continues)

    async def note(self, text: str) -> None:
        """Queue a line of evalpod's own about this job (start, end, limits)."""
        self._queue(text, "evalpod", continues=False)

    async def header(self, text: str) -> None:
        """Queue the job's first line ("trial run: ...", "run: ..."). When an earlier attempt
        of this phase left its header without an end line (its worker was lost, or it was
        handed back), "trial run restarted (...)" goes first, so the log reads in order."""
        if await self._unfinished_attempt():
            await self.note(f"{_job_name(self._phase)} restarted (the attempt above did not "
                            "finish: its worker was lost or it was handed back)")
        await self.note(text)

    async def _unfinished_attempt(self) -> bool:
        """Whether this phase's latest evalpod line in the stream is a header. Never raises:
        a Redis error only costs the restart line."""
        name = _job_name(self._phase)
        try:
            raw = await self._redis.xrevrange(self._key, count=RESTART_LOOKBACK)
        except Exception:
            log.warning("could not read back the log of %s", self._key, exc_info=True)
            return False
        for entry_id, fields in raw:
            entry = entry_from_stream(entry_id, fields)
            if entry.kind == "end":
                return False
            if entry.kind != "log" or entry.source != "evalpod" or entry.phase != self._phase:
                continue
            if entry.text.startswith(f"{name}: "):
                return True
            if entry.text.startswith(f"{name} "):  # an end line, or a restart line
                return False
        return False

    def _queue(self, text: str, source: Source, *, continues: bool) -> None:
        self._append(LogEntry("*", "log", text, phase=self._phase, source=source,
                              continues=continues))

    def _append(self, entry: LogEntry) -> None:
        self._buffer.append(entry.fields())
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_all())

    async def _send_all(self) -> None:
        # Loops until the buffer is empty: a line queued during a send goes in the next.
        while self._buffer:
            batch, self._buffer = self._buffer[:MAX_BATCH], self._buffer[MAX_BATCH:]
            for attempt in range(SEND_ATTEMPTS):
                try:
                    await self._send(batch)
                    break
                except Exception:
                    if attempt + 1 == SEND_ATTEMPTS:
                        log.warning("dropped %d log lines of %s", len(batch), self._key,
                                    exc_info=True)
                    else:
                        await asyncio.sleep(RETRY_S)

    async def _send(self, batch: list[dict[str, str]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for fields in batch:
                pipe.xadd(self._key, fields,  # type: ignore[arg-type]
                          maxlen=self._maxlen, approximate=True)
            await pipe.execute()

    async def flush(self) -> None:
        """Return once every line queued so far is in the stream (or dropped)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.shield(self._sender)

    async def aclose(self) -> None:
        await self.flush()


@contextlib.asynccontextmanager
async def job_log(services: HasServices, evaluation_id: str, phase: Phase
                  ) -> AsyncIterator[LogWriter]:
    """The writer for one job (`trial` or `run`) of an evaluation.

    On leaving, every line is sent and the job's log is archived (`archive_job_log`);
    a trial's log is archived here because a passing trial is not a terminal status.
    """
    writer = LogWriter(services.redis, evaluation_id,
                       maxlen=services.settings.log_stream_maxlen, phase=phase)
    try:
        yield writer
    finally:
        await writer.aclose()
        await archive_job_log(services, evaluation_id)


def _job_name(phase: Phase) -> str:
    return "trial run" if phase == "trial" else "run"


def end_note(phase: Phase, status: str, duration_s: float, detail: str | None = None,
             startup_s: float | None = None) -> str:
    """evalpod's line at the end of a job: how it ended, and why when it did not succeed.

    `duration_s` is the script's own time (what the cap counts); a sandbox start-up of
    STARTUP_NOTE_MIN_S or more is named apart: "run succeeded after 12.10 s (sandbox
    start 21.9 s)"."""
    name = "trial run" if phase == "trial" else "run"
    text = f"{name} {status} after {duration_s:.2f} s"
    if startup_s is not None and startup_s >= STARTUP_NOTE_MIN_S:
        text += f" (sandbox start {startup_s:.1f} s)"
    last = (detail or "").strip().splitlines()
    return f"{text}: {last[-1]}" if last and status != "succeeded" else text


async def logged(writer: LogWriter, job: SandboxJob, running: Awaitable[SandboxOutcome]
                 ) -> SandboxOutcome:
    """Await `running` (the job's `backend.run`) between two evalpod lines: what runs, and
    how it ended (status, time, violation or error)."""
    name = _job_name(writer.phase)
    # The supervisor's wall clock starts at launch, before the model loads: unlike the
    # trial's cap (the script alone), a run's timeout_s counts its start-up too.
    await writer.header(f"{name}: model {job.model_id}, at most {job.limits.timeout_s:g} s "
                        f"with start-up, {job.limits.memory_mb} MiB")
    outcome = await running
    detail = (f"{outcome.violation.kind.value}: {outcome.violation.detail}"
              if outcome.violation else outcome.error)
    await writer.note(end_note(writer.phase, outcome.status, outcome.duration_s, detail,
                               outcome.startup_s))
    return outcome
