"""Routes under /api/v1/models: the registry, evaluation policies, promotion and rollback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import model_service as service
from api.deps import AdminDep, PrincipalDep, UnitOfWorkDep
from api.errors import responses
from api.model_service import (
    ModelDetail,
    ModelOut,
    ModelPage,
    PromoteRequest,
    RollbackRequest,
    StageChangeResponse,
)
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.promotion import EvaluationPolicy, ModelStage
from evalpod.registry_errors import (
    InvalidStageChange,
    ModelNotFoundHttp,
    NothingToRollBack,
    PromotionBlocked,
)

router = APIRouter(prefix="/models", tags=["models"], route_class=TextCheckedRoute)

AUTH_ERRORS = (errors.Unauthorized, errors.RateLimited)
ADMIN_ERRORS = (*AUTH_ERRORS, errors.Forbidden)


@router.get(
    "",
    response_model=ModelPage,
    responses=responses(*AUTH_ERRORS, errors.InvalidConfig),
    summary="List registered models, by id",
)
async def list_models(
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    stage: ModelStage | None = None,
    family: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200,
                                   description="Substring of id, name or family")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> ModelPage:
    async with uow.begin() as session:
        return await service.list_models(
            session, stage=stage.value if stage else None, family=family, q=q, limit=limit,
            cursor=cursor)


@router.get(
    "/{model_id}",
    response_model=ModelDetail,
    responses=responses(*AUTH_ERRORS, ModelNotFoundHttp),
    summary="One model with its lineage, your evaluations on it and its stage history",
)
async def get_model(model_id: str, principal: PrincipalDep, uow: UnitOfWorkDep) -> ModelDetail:
    async with uow.begin() as session:
        return await service.describe(session, principal, model_id)


@router.put(
    "/{model_id}/policy",
    response_model=ModelOut,
    responses=responses(*ADMIN_ERRORS, ModelNotFoundHttp, errors.InvalidConfig),
    summary="Set the evaluation policy that gates promotion to production (admin)",
)
async def set_policy(
    model_id: str, body: EvaluationPolicy, admin: AdminDep, uow: UnitOfWorkDep
) -> ModelOut:
    async with uow.begin() as session:
        return await service.set_policy(session, model_id, body)


@router.post(
    "/{model_id}/promote",
    response_model=StageChangeResponse,
    responses=responses(*ADMIN_ERRORS, ModelNotFoundHttp, PromotionBlocked, InvalidStageChange,
                        errors.InvalidConfig),
    summary="Change a model's stage; production is gated by its evaluation policy (admin)",
)
async def promote_model(
    model_id: str, body: PromoteRequest, admin: AdminDep, uow: UnitOfWorkDep
) -> StageChangeResponse:
    async with uow.begin() as session:
        return await service.promote(session, admin, model_id, body)


@router.post(
    "/{model_id}/rollback",
    response_model=StageChangeResponse,
    responses=responses(*ADMIN_ERRORS, ModelNotFoundHttp, NothingToRollBack,
                        errors.InvalidConfig),
    summary="Return the lineage's previous production model to production (admin)",
)
async def rollback_model(
    model_id: str, body: RollbackRequest, admin: AdminDep, uow: UnitOfWorkDep
) -> StageChangeResponse:
    async with uow.begin() as session:
        return await service.rollback(session, admin, model_id, body)
