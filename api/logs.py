"""GET /evaluations/{id}/logs: Server-Sent Events from the evaluation's Redis stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from sse_starlette.sse import EventSourceResponse

from api import evaluation_service as service
from api.deps import PrincipalDep, UnitOfWorkDep
from api.errors import responses
from evalpod import errors
from evalpod.db import Database
from evalpod.lifecycle import TERMINAL, EvaluationStatus
from evalpod.orm import Evaluation
from monitor.logs import read_after

router = APIRouter(prefix="/evaluations", tags=["evaluations"])

POLL_MS = 1000


async def _terminal_status(db: Database, evaluation_id: str) -> str | None:
    async with db.session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
    if evaluation is None:
        return EvaluationStatus.cancelled.value
    return evaluation.status if EvaluationStatus(evaluation.status) in TERMINAL else None


async def _events(
    request: Request, evaluation_id: str, after: str
) -> AsyncIterator[dict[str, Any]]:
    redis = request.app.state.redis
    db: Database = request.app.state.db
    while True:
        entries = await read_after(redis, evaluation_id, after, block_ms=POLL_MS)
        for entry in entries:
            after = entry.id
            if entry.kind == "end":
                yield {"event": "end", "id": entry.id, "data": entry.text}
                return
            yield {"event": "log", "id": entry.id, "data": entry.text}
        if entries:
            continue
        if await request.is_disconnected():
            return
        # No end entry may ever come (a dead worker, an expired stream): the DB decides.
        status = await _terminal_status(db, evaluation_id)
        if status is not None:
            for entry in await read_after(redis, evaluation_id, after, block_ms=None):
                if entry.kind == "log":
                    yield {"event": "log", "id": entry.id, "data": entry.text}
            yield {"event": "end", "data": status}
            return


@router.get(
    "/{evaluation_id}/logs",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "log and end events"},
        **responses(errors.Unauthorized, errors.JobNotFound),
    },
    response_class=EventSourceResponse,
    summary="Stream the evaluation's log as Server-Sent Events",
)
async def stream_logs(
    evaluation_id: str,
    request: Request,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    async with uow.begin() as session:
        await service.get_owned(session, principal, evaluation_id)
    after = last_event_id if last_event_id and _is_stream_id(last_event_id) else "0"
    return EventSourceResponse(_events(request, evaluation_id, after), ping=15)


def _is_stream_id(value: str) -> bool:
    first, _, second = value.partition("-")
    return first.isdigit() and (not second or second.isdigit())
