"""Routes under /api/v1/evaluations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api import dry_run
from api import evaluation_service as service
from api.bounded import ClientDatetime, CursorQuery, EvaluationIdPath, ModelIdFilter, TagFilter
from api.deps import PrincipalDep, UnitOfWorkDep
from api.dry_run import DryRunResponse
from api.errors import responses
from api.schemas import (
    CancelResponse,
    EvaluationAccepted,
    EvaluationCreate,
    EvaluationOut,
    EvaluationPage,
    EvaluationStatusOut,
    PriorityUpdate,
)
from evalpod import errors
from evalpod.lifecycle import EvaluationStatus
from evalpod.orm import Tenant
from evalpod.settings import Settings
from evalpod.signals import publish_cancel
from evalpod.terminal import on_terminal

router = APIRouter(prefix="/evaluations", tags=["evaluations"])

AUTH_ERRORS = (errors.Unauthorized, errors.RateLimited)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EvaluationAccepted,
    responses=responses(
        *AUTH_ERRORS, errors.InvalidScript, errors.ForbiddenPattern, errors.ModelNotFound,
        errors.InvalidConfig, errors.IdempotencyConflict, errors.PayloadTooLarge,
        errors.QuotaExceeded,
    ),
    summary="Submit an evaluation",
)
async def submit_evaluation(
    body: EvaluationCreate,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
) -> EvaluationAccepted:
    # Without a key (no savepoint, no twin lookup) or datasets, submit writes once.
    single = body.idempotency_key is None and not body.datasets
    async with uow.begin(single_statement=single) as session:
        submitted = await service.submit(
            uow, session, principal, body, _settings(request), request.app.state.gpu_count,
            request.app.state.known_models,
        )
    if not submitted.created:
        response.status_code = status.HTTP_200_OK
    position = (uow.places.get(submitted.job_id) if submitted.job_id
                else submitted.queue_position)
    return EvaluationAccepted(evaluation_id=submitted.evaluation_id, status=submitted.status,
                              queue_position=position)


@router.post(
    "/validate",
    response_model=DryRunResponse,
    responses=responses(*AUTH_ERRORS, errors.InvalidConfig),
    summary="Dry-run the submit checks (and with deep=true the static analysis); stores nothing",
)
async def validate_evaluation(
    body: EvaluationCreate,
    request: Request,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    deep: Annotated[bool, Query(description="Also run the validator's static analysis "
                                            "(policy engine and bandit), as after submit.")]
    = False,
) -> DryRunResponse:
    async with uow.begin() as session:
        policy = None
        if deep:
            tenant = await session.get(Tenant, principal.tenant_id)
            policy = tenant.policy if tenant else None
        return await dry_run.validate(
            session, body, _settings(request), deep=deep, policy=policy,
            known_models=request.app.state.known_models, gpu_count=request.app.state.gpu_count,
        )


@router.get(
    "",
    response_model=EvaluationPage,
    responses=responses(*AUTH_ERRORS, errors.InvalidConfig),
    summary="List your evaluations, newest first",
)
async def list_evaluations(
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    status_filter: Annotated[EvaluationStatus | None, Query(alias="status")] = None,
    model_id: ModelIdFilter = None,
    tag: TagFilter = None,
    created_after: Annotated[ClientDatetime | None, Query(
        description="Only evaluations created at or after this instant.")] = None,
    created_before: Annotated[ClientDatetime | None, Query(
        description="Only evaluations created before this instant.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
) -> EvaluationPage:
    filters = {
        "status": status_filter.value if status_filter else None,
        "model_id": model_id,
        "tag": tag,
        "created_after": created_after,
        "created_before": created_before,
    }
    async with uow.begin() as session:
        return await service.list_page(
            session, principal, limit=limit, cursor=cursor, filters=filters
        )


@router.get(
    "/{evaluation_id}",
    response_model=EvaluationOut,
    responses=responses(*AUTH_ERRORS, errors.JobNotFound),
    summary="The full record of one evaluation",
)
async def get_evaluation(
    evaluation_id: EvaluationIdPath, principal: PrincipalDep, uow: UnitOfWorkDep
) -> EvaluationOut:
    async with uow.begin() as session:
        evaluation = await service.get_owned(session, principal, evaluation_id)
        return await service.describe(uow.redis, session, evaluation)


@router.get(
    "/{evaluation_id}/status",
    response_model=EvaluationStatusOut,
    responses=responses(*AUTH_ERRORS, errors.JobNotFound),
    summary="Status only (cheap polling)",
)
async def get_evaluation_status(
    evaluation_id: EvaluationIdPath, principal: PrincipalDep, uow: UnitOfWorkDep
) -> EvaluationStatusOut:
    async with uow.begin() as session:
        evaluation = await service.get_owned(session, principal, evaluation_id)
    return EvaluationStatusOut(evaluation_id=evaluation.id, status=evaluation.status)


@router.post(
    "/{evaluation_id}/cancel",
    response_model=CancelResponse,
    responses=responses(*AUTH_ERRORS, errors.JobNotFound, errors.JobAlreadyCompleted),
    summary="Cancel; idempotent on an already-cancelled evaluation",
)
async def cancel_evaluation(
    evaluation_id: EvaluationIdPath, request: Request, principal: PrincipalDep,
    uow: UnitOfWorkDep
) -> CancelResponse:
    async with uow.begin() as session:
        evaluation, previous = await service.cancel(session, principal, evaluation_id)
        if previous is not None:
            uow.after_commit(lambda: publish_cancel(uow.redis, evaluation_id))
            # A running job's worker closes the log after its last line; otherwise we do.
            if previous != EvaluationStatus.executing:
                uow.after_commit(lambda: on_terminal(
                    request.app.state, evaluation_id, EvaluationStatus.cancelled))
    return CancelResponse(evaluation_id=evaluation.id, status=evaluation.status)


@router.post(
    "/{evaluation_id}/priority",
    response_model=EvaluationAccepted,
    responses=responses(*AUTH_ERRORS, errors.JobNotFound, errors.JobAlreadyCompleted,
                        errors.InvalidConfig),
    summary="Change the priority of a queued evaluation",
)
async def change_priority(
    evaluation_id: EvaluationIdPath, body: PriorityUpdate, principal: PrincipalDep,
    uow: UnitOfWorkDep
) -> EvaluationAccepted:
    async with uow.begin() as session:
        evaluation = await service.change_priority(uow, session, principal, evaluation_id,
                                                   body.priority)
    # After commit, when the queued job has moved to its new place.
    async with uow.begin() as session:
        position = await service.queue_position(uow.redis, session, evaluation)
    return EvaluationAccepted(evaluation_id=evaluation.id, status=evaluation.status,
                              queue_position=position)
