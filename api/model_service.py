"""Model registry use cases and schemas behind /models: list, lineage, policy, stage changes."""

from __future__ import annotations

import difflib
import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas import NO_NUL
from api.text import SendableJson
from evalpod import promotion
from evalpod.keys import Principal
from evalpod.orm import Evaluation, Model, ModelStageEvent
from evalpod.promotion import EvaluationPolicy, ModelStage, StageChange

LINEAGE_EVALUATIONS = 50
SUMMARY_METRICS = 20
STAGE_HISTORY = 50


class ModelOut(BaseModel):
    id: str
    name: str
    family: str | None
    stage: str
    parent_id: str | None
    parameters: int | None
    dtype: str | None
    context_length: int | None
    checksum: str
    evaluation_policy: EvaluationPolicy | None
    created_at: datetime
    updated_at: datetime


class ModelPage(BaseModel):
    items: list[ModelOut]
    next_cursor: str | None


class ModelRef(BaseModel):
    id: str
    name: str
    stage: str


class LineageEvaluation(BaseModel):
    evaluation_id: str
    status: str
    kind: str
    tags: SendableJson
    finished_at: datetime | None
    metrics: SendableJson = Field(description="Numeric metrics; lm-eval ones as task/metric.")


class StageEventOut(BaseModel):
    from_stage: str
    to_stage: str
    actor: str
    reason: str
    approval_ref: str | None
    evaluation_ids: list[str]
    at: datetime


class ModelDetail(ModelOut):
    """GET /models/{id}: the model, its lineage, your evaluations on it, its stage history."""

    parents: list[ModelRef] = Field(description="Parent first, root last.")
    children: list[ModelRef]
    evaluations: list[LineageEvaluation] = Field(description="Your tenant's, newest first.")
    stage_history: list[StageEventOut] = Field(description="Newest first.")


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_stage: ModelStage
    reason: str = Field(min_length=1, max_length=4000, pattern=NO_NUL)
    approval_ref: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    demote_previous_to: Literal[ModelStage.staging, ModelStage.archived] = Field(
        default=ModelStage.staging,
        description="Where the lineage's current production model goes (production only).")


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=4000, pattern=NO_NUL)
    approval_ref: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    demote_current_to: Literal[ModelStage.staging, ModelStage.archived] = ModelStage.archived


class StageChangeOut(BaseModel):
    model_id: str
    from_stage: str
    to_stage: str


class StageChangeResponse(BaseModel):
    model: ModelOut
    changes: list[StageChangeOut] = Field(description="The requested change first.")


def model_out(model: Model) -> ModelOut:
    policy = promotion.parse_policy(model.evaluation_policy) if model.evaluation_policy else None
    return ModelOut(
        id=model.id, name=model.name, family=model.family, stage=model.stage,
        parent_id=model.parent_id, parameters=model.parameters, dtype=model.dtype,
        context_length=model.context_length, checksum=model.checksum,
        evaluation_policy=policy, created_at=model.created_at, updated_at=model.updated_at)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(stage: str | None, family: str | None, q: str | None) -> Select[Model]:
    query = select(Model)
    if stage:
        query = query.where(Model.stage == stage)
    if family:
        query = query.where(Model.family == family)
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        query = query.where(or_(*(
            func.lower(func.coalesce(column, "")).like(pattern, escape="\\")
            for column in (Model.id, Model.name, Model.family))))
    return query


async def list_models(
    session: AsyncSession, *, stage: str | None, family: str | None, q: str | None,
    limit: int, cursor: str | None,
) -> ModelPage:
    """Models by id, keyset-paginated: `cursor` is the last id of the previous page."""
    query = _filtered(stage, family, q)
    if cursor:
        query = query.where(Model.id > cursor)
    rows = list(await session.scalars(query.order_by(Model.id).limit(limit + 1)))
    page = rows[:limit]
    more = len(rows) > limit
    return ModelPage(items=[model_out(m) for m in page],
                     next_cursor=page[-1].id if more and page else None)


def metrics_summary(evaluation: Evaluation) -> dict[str, Any]:
    """A small numeric digest of a result: script metrics, or lm-eval task/metric pairs."""
    result = evaluation.result or {}
    flat: dict[str, Any] = {}
    if isinstance(result.get("metrics"), dict) and "benchmark_id" in result:
        flat = dict(result["metrics"])  # a benchmark scorer's (evalpod.benchmarks.scoring)
    elif evaluation.kind == "lm_eval" and isinstance(result.get("tasks"), dict):
        for task, metrics in result["tasks"].items():
            if isinstance(metrics, dict):
                flat.update({f"{task}/{k}": v for k, v in metrics.items()
                             if not k.endswith("_stderr")})
    else:
        flat = result
    numbers = {k: v for k, v in flat.items()
               if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}
    return dict(list(numbers.items())[:SUMMARY_METRICS])


def _ref(model: Model) -> ModelRef:
    return ModelRef(id=model.id, name=model.name, stage=model.stage)


async def _evaluations(session: AsyncSession, model_id: str, tenant_id: str
                       ) -> list[LineageEvaluation]:
    rows = await session.scalars(
        select(Evaluation)
        .where(Evaluation.model_id == model_id, Evaluation.tenant_id == tenant_id)
        .order_by(Evaluation.created_at.desc(), Evaluation.id.desc())
        .limit(LINEAGE_EVALUATIONS))
    return [LineageEvaluation(evaluation_id=e.id, status=e.status, kind=e.kind,
                              tags=e.tags or {}, finished_at=e.finished_at,
                              metrics=metrics_summary(e)) for e in rows]


async def _stage_history(session: AsyncSession, model_id: str) -> list[StageEventOut]:
    rows = await session.scalars(
        select(ModelStageEvent).where(ModelStageEvent.model_id == model_id)
        .order_by(ModelStageEvent.id.desc()).limit(STAGE_HISTORY))
    return [StageEventOut(from_stage=e.from_stage, to_stage=e.to_stage, actor=e.actor,
                          reason=e.reason, approval_ref=e.approval_ref,
                          evaluation_ids=[str(i) for i in e.evaluation_ids or []],
                          at=e.created_at) for e in rows]


async def describe(session: AsyncSession, principal: Principal, model_id: str) -> ModelDetail:
    model = await promotion.get_model(session, model_id)
    parents = await promotion.ancestors(session, model)
    children = await session.scalars(
        select(Model).where(Model.parent_id == model.id).order_by(Model.id))
    return ModelDetail(
        **model_out(model).model_dump(),
        parents=[_ref(p) for p in parents],
        children=[_ref(c) for c in children],
        evaluations=await _evaluations(session, model.id, principal.tenant_id),
        stage_history=await _stage_history(session, model.id),
    )


async def set_policy(session: AsyncSession, model_id: str, policy: EvaluationPolicy
                     ) -> ModelOut:
    model = await promotion.get_model(session, model_id)
    model.evaluation_policy = policy.model_dump(mode="json")
    await session.flush()
    return model_out(model)


def _request(principal: Principal, reason: str, approval_ref: str | None
             ) -> promotion.ChangeRequest:
    return promotion.ChangeRequest(actor=principal.key_id, tenant_id=principal.tenant_id,
                                   reason=reason, approval_ref=approval_ref)


async def _response(session: AsyncSession, changes: list[StageChange]) -> StageChangeResponse:
    model = await promotion.get_model(session, changes[0].model_id)
    return StageChangeResponse(
        model=model_out(model),
        changes=[StageChangeOut(model_id=c.model_id, from_stage=c.from_stage,
                                to_stage=c.to_stage) for c in changes])


async def promote(session: AsyncSession, principal: Principal, model_id: str,
                  body: PromoteRequest) -> StageChangeResponse:
    changes = await promotion.promote(
        session, model_id, body.target_stage, _request(principal, body.reason, body.approval_ref),
        demote_to=ModelStage(body.demote_previous_to))
    return await _response(session, changes)


async def rollback(session: AsyncSession, principal: Principal, model_id: str,
                   body: RollbackRequest) -> StageChangeResponse:
    changes = await promotion.rollback(
        session, model_id, _request(principal, body.reason, body.approval_ref),
        demote_to=ModelStage(body.demote_current_to))
    return await _response(session, changes)


# Ids compared for a "did you mean" (every tenant sees the whole registry): enough for any
# registry read by people, bounded for one that grew by scripts.
MAX_SUGGESTION_CANDIDATES = 5000


async def close_model_ids(session: AsyncSession, model_id: str, n: int = 3) -> list[str]:
    """Registered ids that look like `model_id` (a typo, a case slip), closest first."""
    ids = list(await session.scalars(
        select(Model.id).order_by(Model.id).limit(MAX_SUGGESTION_CANDIDATES)))
    by_folded = {i.casefold(): i for i in ids}
    close = difflib.get_close_matches(model_id.casefold(), list(by_folded), n=n, cutoff=0.6)
    return [by_folded[c] for c in close]


def model_not_found_hint(close: list[str]) -> str:
    """The hint of MODEL_NOT_FOUND: the close ids, if any, then where the list is."""
    listed = "List the registered models with GET /api/v1/models."
    if not close:
        return listed
    return "Did you mean " + " or ".join(repr(c) for c in close) + "? " + listed
