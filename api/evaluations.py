"""Routes under /api/v1/evaluations."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from redis.exceptions import RedisError

from api import dry_run
from api import evaluation_service as service
from api.admission import Admission, admit
from api.bounded import ClientDatetime, CursorQuery, EvaluationIdPath, ModelIdFilter, TagFilter
from api.deps import (
    Caller,
    PrincipalDep,
    UncountedCallerDep,
    UnitOfWork,
    UnitOfWorkDep,
    count_uncounted,
    get_uncounted_caller,
    get_uow,
    mark_counted,
    recheck,
)
from api.dry_run import DryRunResponse
from api.errors import responses
from api.group_commit import GroupCommit
from api.schemas import (
    CancelResponse,
    EvaluationAccepted,
    EvaluationCreate,
    EvaluationOut,
    EvaluationPage,
    EvaluationStatusOut,
    PriorityUpdate,
)
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.lifecycle import EvaluationStatus
from evalpod.lua import ScriptBatcher
from evalpod.orm import Tenant
from evalpod.settings import Settings
from evalpod.signals import publish_cancel
from evalpod.terminal import on_terminal

router = APIRouter(prefix="/evaluations", tags=["evaluations"], route_class=TextCheckedRoute)

AUTH_ERRORS = (errors.Unauthorized, errors.RateLimited)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class _CountsRefusedBodies(TextCheckedRoute):
    """A route whose handler counts the request itself (`get_uncounted_caller`): a body
    refused before the handler runs is counted here, and a caller over its rate gets 429
    rather than 422, as on every other route."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def counted(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError:
                await count_uncounted(request)
                raise

        return counted


async def _admit(request: Request, caller: Caller, body: EvaluationCreate) -> Admission:
    """Count the request and take its quotas in one round trip; enforce the rate."""
    state = request.app.state
    admission = await admit(state.redis, caller.principal, state.settings,
                            service.gpu_seconds_of(body), count_rate=True,
                            batcher=_batcher(request))
    mark_counted(request)
    try:
        principal = await recheck(request, caller, admission.auth_epoch)
        admission.enforce_rate()
    except BaseException:
        await admission.refund(state.redis)
        raise
    if principal is not caller.principal:
        # Looked up again (a key or a tenant's limits changed): take the quotas under the
        # limits it has now; the request is already counted.
        await admission.refund(state.redis)
        admission = await admit(state.redis, principal, state.settings,
                                service.gpu_seconds_of(body), count_rate=False)
    return admission


def _batcher(request: Request) -> ScriptBatcher:
    """The process's batcher of Redis script calls, made on first use."""
    state = request.app.state
    batcher: ScriptBatcher | None = getattr(state, "script_batcher", None)
    if batcher is None:
        batcher = state.script_batcher = ScriptBatcher(state.redis)
    return batcher


def _group_commit(request: Request) -> GroupCommit | None:
    """The process's group commit of submits (PostgreSQL only), made on first use."""
    state = request.app.state
    group: GroupCommit | None = getattr(state, "group_commit", None)
    if group is None and state.db.engine.dialect.name == "postgresql":
        group = state.group_commit = GroupCommit(state.db, state.redis, _batcher(request))
    return group


async def submit_evaluation(
    body: EvaluationCreate,
    request: Request,
    response: Response,
    caller: UncountedCallerDep,
    uow: UnitOfWorkDep,
) -> EvaluationAccepted:
    accepted, created = await _submit(request, caller, uow, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return accepted


async def _submit(request: Request, caller: Caller, uow: UnitOfWork, body: EvaluationCreate
                  ) -> tuple[EvaluationAccepted, bool]:
    """Submit `body` for `caller`: the accepted evaluation, and whether it is new (False
    for an idempotent twin)."""
    admission = await _admit(request, caller, body)
    # Without a key (no savepoint, no twin lookup) or datasets, submit writes once: on
    # PostgreSQL by the group commit (no session of its own unless its model must be looked
    # up), else in an autocommit session.
    plain = body.idempotency_key is None and not body.datasets
    group = _group_commit(request) if plain else None
    began = False
    try:
        if group is not None:
            submitted = await service.submit(
                uow, None, request.state.principal, body, _settings(request),
                request.app.state.gpu_count, request.app.state.known_models,
                admission=admission, group=group,
            )
        else:
            async with uow.begin(single_statement=plain) as session:
                began = True  # from here on the unit of work refunds a failed submit
                submitted = await service.submit(
                    uow, session, request.state.principal, body, _settings(request),
                    request.app.state.gpu_count, request.app.state.known_models,
                    admission=admission,
                )
    except BaseException:
        if not began:
            with contextlib.suppress(RedisError, OSError):
                await admission.refund(uow.redis)
        raise
    position = (uow.places.get(submitted.job_id) if submitted.job_id
                else submitted.queue_position)
    accepted = EvaluationAccepted(evaluation_id=submitted.evaluation_id,
                                  status=submitted.status, queue_position=position)
    return accepted, submitted.created


def _json_media_type(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.partition(";")[0].strip().lower() == "application/json"


class _SubmitRoute(_CountsRefusedBodies):
    """Submit's route: the request every client sends (a JSON body that validates) is
    served without FastAPI's per-request dependency solving, body decoding and response
    re-validation, which cost a third of submit's own CPU beside its parse (`bench/
    api_submit.py`). The body is still validated by `EvaluationCreate` (from the bytes,
    by pydantic's JSON parser) and the caller found by the same dependency. Anything
    else (another media type, a body that does not validate, overridden dependencies in
    tests) goes to FastAPI's own handler, so every refusal keeps FastAPI's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()

        async def submit_handler(request: Request) -> Response:
            if not _json_media_type(request) or request.app.dependency_overrides:
                return await standard(request)
            try:
                body = EvaluationCreate.model_validate_json(await request.body())
            except ValidationError:
                return await standard(request)  # reads the body Starlette kept
            caller = await get_uncounted_caller(request)
            uow = await get_uow(request)
            accepted, created = await _submit(request, caller, uow, body)
            return Response(accepted.model_dump_json(), media_type="application/json",
                            status_code=status.HTTP_202_ACCEPTED if created
                            else status.HTTP_200_OK)

        return submit_handler


router.add_api_route(
    "",
    submit_evaluation,
    methods=["POST"],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EvaluationAccepted,
    responses=responses(
        *AUTH_ERRORS, errors.InvalidScript, errors.ForbiddenPattern, errors.ModelNotFound,
        errors.InvalidConfig, errors.IdempotencyConflict, errors.PayloadTooLarge,
        errors.QuotaExceeded,
    ),
    summary="Submit an evaluation",
    route_class_override=_SubmitRoute,
)


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
