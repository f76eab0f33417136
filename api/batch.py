"""POST /api/v1/evaluations/batch: up to 100 submissions, each answered on its own."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError

from api import evaluation_service as service
from api.deps import PrincipalDep, UnitOfWorkDep
from api.errors import envelope, responses
from api.schemas import EvaluationCreate
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.errors import EvalpodError, ForbiddenPattern, InvalidConfig
from evalpod.settings import Settings
from validator.findings import blocking

router = APIRouter(prefix="/evaluations", tags=["evaluations"], route_class=TextCheckedRoute)
MAX_ITEMS = 100


class BatchCreate(BaseModel):
    submissions: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_ITEMS,
        description="Submit bodies (as POST /evaluations), each with its own idempotency_key.")


class BatchItem(BaseModel):
    index: int
    status_code: int = Field(description="What POST /evaluations would have answered.")
    evaluation_id: str | None = None
    status: str | None = None
    queue_position: int | None = None
    error: dict[str, Any] | None = Field(default=None, description="The error envelope.")


class BatchOut(BaseModel):
    items: list[BatchItem]
    accepted: int


def _screen_once(bodies: list[EvaluationCreate | None], settings: Settings
                 ) -> dict[str, EvalpodError | None]:
    """Each distinct script parsed and screened once: its refusal, or None if it passes."""
    verdicts: dict[str, EvalpodError | None] = {}
    for body in bodies:
        if body is None or body.script is None:
            continue
        digest = _screen_key(body)
        if digest in verdicts:
            continue
        try:
            found = blocking(service.script_findings(body, settings))
            verdicts[digest] = None if not found else ForbiddenPattern(
                f"script uses a forbidden construct: {found[0].message}",
                detail={"findings": [f.model_dump() for f in found]})
        except EvalpodError as exc:
            verdicts[digest] = exc
    return verdicts


def _screen_key(body: EvaluationCreate) -> str:
    """The script and its datasets: the screen's verdict depends on both (a script that
    reads `data` is refused without datasets)."""
    assert body.script is not None
    named = "\0".join(body.datasets or [])
    return hashlib.sha256(f"{body.script}\0{named}".encode("utf-8", "surrogatepass")
                          ).hexdigest()


def _parse(raw: dict[str, Any]) -> EvaluationCreate | EvalpodError:
    try:
        return EvaluationCreate.model_validate(raw)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in exc.errors()]
        return InvalidConfig("this submission is not a valid body",
                             detail={"errors": problems})


@router.post("/batch", response_model=BatchOut,
             responses=responses(errors.Unauthorized, errors.RateLimited, errors.InvalidConfig),
             summary="Submit up to 100 evaluations; each is accepted or refused on its own")
async def submit_batch(body: BatchCreate, request: Request, principal: PrincipalDep,
                       uow: UnitOfWorkDep) -> BatchOut:
    settings: Settings = request.app.state.settings
    parsed = [_parse(raw) for raw in body.submissions]
    verdicts = _screen_once([p if isinstance(p, EvaluationCreate) else None for p in parsed],
                            settings)
    items = []
    for index, item in enumerate(parsed):
        refusal = item if isinstance(item, EvalpodError) else None
        if isinstance(item, EvaluationCreate) and item.script is not None:
            refusal = verdicts.get(_screen_key(item))
        if refusal is None and isinstance(item, EvaluationCreate):
            try:
                async with uow.begin() as session:
                    done = await service.submit(uow, session, principal, item, settings,
                                                request.app.state.gpu_count,
                                                request.app.state.known_models)
            except EvalpodError as exc:
                refusal = exc
            else:
                place = (uow.places.get(done.job_id) if done.job_id else done.queue_position)
                items.append(BatchItem(index=index, status_code=202 if done.created else 200,
                                       evaluation_id=done.evaluation_id, status=done.status,
                                       queue_position=place))
                continue
        assert refusal is not None
        items.append(BatchItem(index=index, status_code=refusal.status_code,
                               error=envelope(refusal)))
    return BatchOut(items=items, accepted=sum(1 for i in items if i.evaluation_id))
