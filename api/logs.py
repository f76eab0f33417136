"""GET /evaluations/{id}/logs: Server-Sent Events from the log archive, then the live stream;
and GET /evaluations/{id}/script, the source those lines come from.

Events (documented in docs/api.md):
- `log`, `id:` the stream id, `data:` one JSON object (`evalpod.logs.events.LogLine`);
  its `text` has control characters neutralised (`evalpod.display`).
- `progress`, `id:` the stream id, `data:` one JSON object (`evalpod.logs.progress.Progress`):
  a bar's done/total, rate and estimate, as the job reported it (bounded, neutralised).
- `end`, `data:` the terminal status; the last event.

A reader is woken by each new entry (XREAD BLOCK), not by a poll. The database decides
when no `end` entry will come (a dead worker, a lost or expired stream).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sse_starlette.sse import EventSourceResponse

from api import evaluation_service as service
from api.deps import PrincipalDep, UnitOfWorkDep
from api.errors import responses
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.db import Database
from evalpod.display import neutralise
from evalpod.lifecycle import TERMINAL, EvaluationStatus
from evalpod.logs.archive import archived_after
from evalpod.logs.events import LogLine
from evalpod.logs.progress import Progress, ProgressReport
from evalpod.logs.stream import START, LogEntry, StreamId, read_after
from evalpod.orm import Evaluation

router = APIRouter(prefix="/evaluations", tags=["evaluations"], route_class=TextCheckedRoute)
log = logging.getLogger("evalpod.api.logs")

BLOCK_MS = 2000
REDIS_RETRY_S = 1.0


async def _terminal_status(db: Database, evaluation_id: str) -> str | None:
    async with db.session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
    if evaluation is None:
        return EvaluationStatus.cancelled.value
    return evaluation.status if EvaluationStatus(evaluation.status) in TERMINAL else None


def _progress_data(entry: LogEntry) -> str:
    # Validated when written; read again as what it is, untrusted data from the job.
    try:
        report = ProgressReport.model_validate_json(entry.text)
    except ValueError:
        report = ProgressReport(done=0)
    return Progress(**report.model_dump(), phase=entry.phase).to_data()


def _event(entry: LogEntry) -> dict[str, Any]:
    if entry.kind == "end":
        event: dict[str, Any] = {"event": "end", "data": entry.text}
    elif entry.kind == "progress":
        event = {"event": "progress", "data": _progress_data(entry)}
    else:
        event = {"event": "log", "data": LogLine(
            text=neutralise(entry.text), phase=entry.phase, source=entry.source,
            continues=entry.continues).to_data()}
    if entry.id:
        event["id"] = entry.id
    return event


class _Reader:
    """One client's position in the log, across the archive and the stream."""

    def __init__(self, request: Request, evaluation_id: str, after: StreamId) -> None:
        self.request = request
        self.evaluation_id = evaluation_id
        self.after = after
        self.ended = False
        self.db: Database = request.app.state.db
        self.redis = request.app.state.redis

    def take(self, entry: LogEntry) -> dict[str, Any]:
        if entry.id:
            self.after = max(self.after, entry.stream_id)
        self.ended = entry.kind == "end"
        return _event(entry)

    async def archived(self) -> AsyncIterator[dict[str, Any]]:
        async for entry in archived_after(self.db, self.evaluation_id, self.after):
            yield self.take(entry)
            if self.ended:
                return

    async def live(self, block_ms: int | None) -> AsyncIterator[dict[str, Any]]:
        for entry in await read_after(self.redis, self.evaluation_id, self.after,
                                      block_ms=block_ms):
            yield self.take(entry)
            if self.ended:
                return

    async def finish(self, status: str) -> AsyncIterator[dict[str, Any]]:
        """The job is over: what is left in the stream, else in the archive, then `end`."""
        try:
            async for event in self.live(None):
                yield event
        except RedisError:
            pass
        if not self.ended:
            async for event in self.archived():
                yield event
        if not self.ended:
            yield {"event": "end", "data": status}


async def _events(request: Request, evaluation_id: str, after: StreamId
                  ) -> AsyncIterator[dict[str, Any]]:
    reader = _Reader(request, evaluation_id, after)
    async for event in reader.archived():
        yield event
    while not reader.ended:
        got = False
        try:
            async for event in reader.live(BLOCK_MS):
                got = True
                yield event
        except RedisError:
            log.warning("log stream of %s unreadable", evaluation_id, exc_info=True)
            await asyncio.sleep(REDIS_RETRY_S)
        if got or reader.ended:
            continue
        if await request.is_disconnected():
            return
        status = await _terminal_status(reader.db, evaluation_id)
        if status is not None:
            async for event in reader.finish(status):
                yield event
            return


@router.get(
    "/{evaluation_id}/logs",
    responses={
        200: {"content": {"text/event-stream": {"x-events": {
                  "log": LogLine.model_json_schema(), "progress": Progress.model_json_schema(),
                  "end": {"type": "string", "description": "the terminal status"}}}},
              "description": "`log` events (data: a JSON `LogLine`), `progress` events "
                             "(data: a JSON `Progress`) and a final `end` event"},
        **responses(errors.Unauthorized, errors.JobNotFound),
    },
    response_class=EventSourceResponse,
    summary="Stream the evaluation's log (trial and run) as Server-Sent Events",
)
async def stream_logs(
    evaluation_id: str,
    request: Request,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID",
               description="Resume after this event id; anything not an event id is ignored."),
    ] = None,
) -> EventSourceResponse:
    async with uow.begin() as session:
        await service.get_owned(session, principal, evaluation_id)
    after = StreamId.parse(last_event_id) or START
    return EventSourceResponse(_events(request, evaluation_id, after), ping=15)


class ScriptOut(BaseModel):
    """GET /evaluations/{id}/script: the source the evaluation runs, for reading its
    findings' and violation's line numbers against (line 1 is the first line)."""

    evaluation_id: str
    kind: str = Field(description="`script` or `lm_eval` (which has no script).")
    script: str | None = Field(description="The submitted script exactly as stored; null "
                               "for an lm_eval job.")


@router.get(
    "/{evaluation_id}/script",
    response_model=ScriptOut,
    responses=responses(errors.Unauthorized, errors.JobNotFound),
    summary="The evaluation's own script (the caller's tenant only)",
)
async def get_script(evaluation_id: str, principal: PrincipalDep, uow: UnitOfWorkDep
                     ) -> ScriptOut:
    async with uow.begin() as session:
        evaluation = await service.get_owned(session, principal, evaluation_id)
        return ScriptOut(evaluation_id=evaluation.id, kind=evaluation.kind,
                         script=evaluation.script)
