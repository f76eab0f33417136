"""The tenant's activity feed under /api/v1/activity: newest first, unread tracking."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.bounded import JSON_INTEGER, JsonBool
from api.deps import PrincipalDep, UnitOfWorkDep
from api.errors import responses
from api.text import SendableJson, TextCheckedRoute
from evalpod import errors
from evalpod.keys import Principal
from evalpod.orm import ActivityEvent, utcnow

router = APIRouter(prefix="/activity", tags=["activity"], route_class=TextCheckedRoute)

AUTH_ERRORS = (errors.Unauthorized, errors.RateLimited)
MAX_MARK_IDS = 1000


class ActivityOut(BaseModel):
    id: int
    event_type: str = Field(examples=["evaluation.finished", "model.promoted"])
    entity_type: str = Field(examples=["evaluation", "model"])
    entity_id: str
    actor: str
    data: SendableJson
    created_at: datetime
    read_at: datetime | None


class ActivityPage(BaseModel):
    items: list[ActivityOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next (older) page.")
    unread_count: int = Field(description="Unread events of the tenant, over all filters.")


def _one_of_rule(schema: dict[str, Any]) -> None:
    """`_one_of`, stated in the schema."""
    schema["anyOf"] = [
        {"required": ["ids"], "properties": {"ids": {"minItems": 1}, "all": {"const": False}}},
        {"required": ["all"], "properties": {"all": {"const": True}, "ids": {"maxItems": 0}}},
    ]


class MarkRead(BaseModel):
    """Either `ids` (at least one) or `all: true`."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra=lambda schema, _cls: _one_of_rule(schema))

    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1), JSON_INTEGER]] = Field(
        default_factory=list, max_length=MAX_MARK_IDS)
    all: JsonBool = False

    @model_validator(mode="after")
    def _one_of(self) -> MarkRead:
        if bool(self.ids) == self.all:
            raise ValueError("give either ids or all: true")
        return self


class MarkReadResult(BaseModel):
    marked: int = Field(description="Events that were unread and are now read.")


async def feed(
    session: AsyncSession, principal: Principal, *, event_type: str | None,
    entity_type: str | None, unread_only: bool, cursor: int | None, limit: int,
) -> ActivityPage:
    """The tenant's events, newest first, keyset-paginated on id."""
    mine = ActivityEvent.tenant_id == principal.tenant_id
    query = select(ActivityEvent).where(mine)
    if event_type:
        query = query.where(ActivityEvent.event_type == event_type)
    if entity_type:
        query = query.where(ActivityEvent.entity_type == entity_type)
    if unread_only:
        query = query.where(ActivityEvent.read_at.is_(None))
    if cursor is not None:
        query = query.where(ActivityEvent.id < cursor)
    rows = list(await session.scalars(query.order_by(ActivityEvent.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    unread = await session.scalar(
        select(func.count()).select_from(ActivityEvent)
        .where(mine, ActivityEvent.read_at.is_(None)))
    return ActivityPage(
        items=[ActivityOut.model_validate(row, from_attributes=True) for row in page],
        next_cursor=page[-1].id if len(rows) > limit and page else None,
        unread_count=int(unread or 0),
    )


async def mark_read(session: AsyncSession, principal: Principal, body: MarkRead) -> int:
    statement = update(ActivityEvent).where(
        ActivityEvent.tenant_id == principal.tenant_id, ActivityEvent.read_at.is_(None))
    if not body.all:
        statement = statement.where(ActivityEvent.id.in_(body.ids))
    result = await session.execute(
        statement.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


@router.get(
    "",
    response_model=ActivityPage,
    responses=responses(*AUTH_ERRORS, errors.InvalidConfig),
    summary="Your tenant's activity feed, newest first",
)
async def list_activity(
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    unread_only: bool = False,
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ActivityPage:
    async with uow.begin() as session:
        return await feed(session, principal, event_type=event_type, entity_type=entity_type,
                          unread_only=unread_only, cursor=cursor, limit=limit)


@router.post(
    "/read",
    response_model=MarkReadResult,
    responses=responses(*AUTH_ERRORS, errors.InvalidConfig),
    summary="Mark events (given ids, or all) of your tenant as read",
)
async def mark_activity_read(
    body: MarkRead, principal: PrincipalDep, uow: UnitOfWorkDep
) -> MarkReadResult:
    async with uow.begin() as session:
        return MarkReadResult(marked=await mark_read(session, principal, body))
