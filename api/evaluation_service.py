"""Evaluation use cases behind the routes: submit, read, list, cancel. Sessions come injected."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.admission import Admission, admit
from api.bounded import PageCursor
from api.deps import UnitOfWork
from api.group_commit import GroupCommit, outcome
from api.model_service import close_model_ids, model_not_found_hint
from api.schemas import (
    CallbackAttemptOut,
    EvaluationCreate,
    EvaluationOut,
    EvaluationPage,
    EvaluationSummary,
    StaticTimings,
    TransitionOut,
    ValidateResponse,
    ViolationOut,
)
from api.screen_cache import SCREEN_CACHE
from evalpod import lifecycle, queue
from evalpod.callbacks import check_callback_url
from evalpod.errors import (
    ForbiddenPattern,
    IdempotencyConflict,
    IllegalTransition,
    InvalidConfig,
    InvalidScript,
    JobAlreadyCompleted,
    JobNotFound,
    ModelNotFound,
    PayloadTooLarge,
)
from evalpod.keys import Principal
from evalpod.lifecycle import EvaluationStatus
from evalpod.orm import (
    CallbackAttempt,
    Evaluation,
    EvaluationTransition,
    Model,
    new_id,
    utcnow,
)
from evalpod.preflight import check_data_request
from evalpod.settings import Settings
from validator.analysis import analyse_script, collection_deferred
from validator.findings import Finding, blocking
from validator.policy.config import Policy
from validator.screen import ScriptSyntaxError, parse_script

QUEUED = (EvaluationStatus.pending_validation.value, EvaluationStatus.validated.value)
SUBMITTER_MAX_PRIORITY = 10


def script_findings(body: EvaluationCreate, settings: Settings) -> list[Finding]:
    """The synchronous checks of submit and dry-run validate; raises for size and syntax."""
    if body.kind != "script" or body.script is None:
        return []
    size = len(body.script.encode("utf-8", "surrogatepass"))
    if size > settings.max_script_bytes:
        raise PayloadTooLarge(
            f"script is {size} bytes; the limit is {settings.max_script_bytes}",
            detail={"size_bytes": size, "limit_bytes": settings.max_script_bytes},
        )
    # The tree is thousands of acyclic nodes that reference counting frees on return;
    # collections fired by those allocations would only rescan the requests in flight.
    with collection_deferred():
        try:
            tree = parse_script(body.script)
        except ScriptSyntaxError as exc:
            raise InvalidScript(
                f"script does not parse: {exc.message}",
                detail={"line": exc.line, "column": exc.column, "message": exc.message},
            ) from exc
        findings = SCREEN_CACHE.screen(tree, body.script)
        if not blocking(findings):  # the entrypoint is usable: does it get its data?
            check_data_request(tree, body.datasets)
        return findings


def check_config(body: EvaluationCreate, settings: Settings, gpu_count: int | None = None
                 ) -> None:
    problems = body.config.past_server_limits(settings, gpu_count)
    if problems:
        raise InvalidConfig("config exceeds this server's limits", detail={"errors": problems})


def dry_run(body: EvaluationCreate, settings: Settings, gpu_count: int | None = None
            ) -> ValidateResponse:
    try:
        check_config(body, settings, gpu_count)
        findings = script_findings(body, settings)
    except InvalidScript as exc:
        detail = exc.detail
        finding = Finding(rule="EP001", message=detail.get("message", exc.message),
                          line=detail.get("line"), column=detail.get("column"),
                          hint=exc.hint)
        return ValidateResponse(valid=False, errors=[finding])
    except (PayloadTooLarge, InvalidConfig) as exc:
        return ValidateResponse(valid=False, errors=[Finding(rule=exc.code, message=exc.message,
                                                             hint=exc.hint)])
    errors = blocking(findings)
    warnings = [f for f in findings if f.severity != "error"]
    return ValidateResponse(valid=not errors, errors=errors, warnings=warnings)


async def deep_dry_run(body: EvaluationCreate, settings: Settings, policy: dict[str, Any] | None,
                       gpu_count: int | None = None) -> ValidateResponse:
    """The quick checks, then the validator's own static analysis (no trial run)."""
    quick = dry_run(body, settings, gpu_count)
    if not quick.valid or body.kind != "script" or body.script is None:
        return quick
    report = await asyncio.to_thread(analyse_script, body.script,
                                     Policy.model_validate(policy or {}))
    seen = {(f.rule, f.line, f.column) for f in quick.errors + quick.warnings}
    extra = [f for f in report.findings if (f.rule, f.line, f.column) not in seen]
    errors = quick.errors + blocking(extra)
    warnings = quick.warnings + [f for f in extra if f.severity != "error"]
    return ValidateResponse(valid=not errors, errors=errors, warnings=warnings,
                            static=StaticTimings(duration_ms=report.duration_ms,
                                                 analysers=report.analysers))


def request_hash(body: EvaluationCreate) -> str:
    canonical = body.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


async def _idempotent_match(
    session: AsyncSession, principal: Principal, body: EvaluationCreate
) -> Evaluation | None:
    if body.idempotency_key is None:
        return None
    existing = await session.scalar(
        select(Evaluation).where(
            Evaluation.tenant_id == principal.tenant_id,
            Evaluation.idempotency_key == body.idempotency_key,
        )
    )
    if existing is None:
        return None
    if existing.request_hash != request_hash(body):
        raise IdempotencyConflict(
            "idempotency_key was already used with a different body",
            detail={"evaluation_id": existing.id},
        )
    return existing


def _bounded_priority(principal: Principal, priority: int) -> int:
    if principal.is_admin:
        return priority
    if priority > SUBMITTER_MAX_PRIORITY:
        raise InvalidConfig(
            f"priority above {SUBMITTER_MAX_PRIORITY} needs the admin role",
            detail={"errors": [{"field": "priority", "message": "too high for role"}]},
        )
    return priority


@dataclass(frozen=True)
class Submitted:
    """What submit answers: the evaluation's id, status and place in the queue."""

    evaluation_id: str
    status: str
    queue_position: int | None
    created: bool
    job_id: str | None = None


ENTRYPOINT_RULES = frozenset({"EP010", "EP011"})


def _refusal(errors: list[Finding]) -> InvalidScript | ForbiddenPattern:
    """The quick screen's verdict as an error: a missing or misshapen `evaluate_model` is an
    invalid script (it says so), anything else a forbidden construct; detail lists them all."""
    detail = {"findings": [f.model_dump() for f in errors]}
    forbidden = [f for f in errors if f.rule not in ENTRYPOINT_RULES]
    if forbidden:
        return ForbiddenPattern(f"script uses a forbidden construct: {forbidden[0].message}",
                                detail=detail)
    return InvalidScript(f"script has no usable evaluate_model: {errors[0].message}",
                         detail=detail, hint=errors[0].hint)


async def submit(
    uow: UnitOfWork,
    session: AsyncSession | None,
    principal: Principal,
    body: EvaluationCreate,
    settings: Settings,
    gpu_count: int | None = None,
    known_models: KnownModels | None = None,
    admission: Admission | None = None,
    group: GroupCommit | None = None,
) -> Submitted:
    """Create the evaluation (or find its idempotent twin) in the caller's transaction.

    The hot path is one admission round trip to Redis (live slot and GPU-seconds, taken
    by the caller with the request's rate count as `admission`, else here), then the
    evaluation, its first transition and its activity row as one insert. A new
    evaluation's queue place is known once its job is sent, after commit (`uow.places`).
    A given `admission` is refunded if the transaction fails or no evaluation is created.
    With `group`, a plain submit (no idempotency key, no datasets) is written and its job
    sent by the group commit, together with concurrent ones, not in the caller's session:
    that submit takes `session` None (a model not seen yet is looked up in a session of its
    own) and its caller refunds `admission` if it fails.
    """
    if admission is not None:
        taken = admission
        uow.on_failure(lambda: taken.refund(uow.redis))
    check_config(body, settings, gpu_count)
    findings = script_findings(body, settings)
    errors = blocking(findings)
    if errors:
        raise _refusal(errors)
    plain = body.idempotency_key is None and not body.datasets
    if session is None and not (group is not None and plain):
        raise TypeError("only a plain submit through the group commit goes without a session")
    existing = None if session is None else await _idempotent_match(session, principal, body)
    if existing is not None:
        assert session is not None
        if admission is not None:
            await admission.refund(uow.redis)
        return await _twin(uow, session, existing)
    if body.callback_url is not None:
        await check_callback_url(body.callback_url, allow_private=settings.callback_allow_private)
    row = _new_row(principal, body)
    if body.datasets:
        assert session is not None
        from evalpod.datasets.service import resolve_refs

        resolved = await resolve_refs(session, principal, body.datasets)
        row["dataset_versions"] = [r.version.id for r in resolved]
    await _require_model(uow, session, body.model_id, known_models or KnownModels(ttl_s=0))
    if admission is None:
        admission = await admit(uow.redis, principal, settings, gpu_seconds_of(body),
                                count_rate=False)
        taken = admission
        uow.on_failure(lambda: taken.refund(uow.redis))
    admission.enforce_quota()
    job = queue.new_job("validate", row["id"], row["priority"], tenant_id=principal.tenant_id,
                        share=queue.fair_share_of(principal.limits))
    row["queue_job_id"] = job.job_id
    if group is not None and plain:
        place = await _group_write(group, row, principal.key_id, job, admission)
        return Submitted(row["id"], row["status"], place, created=True)
    assert session is not None
    if body.idempotency_key is None:
        await lifecycle.insert_submitted(session, row, actor=principal.key_id)
    else:
        twin = await _insert_keyed(session, principal, body, row)
        if twin is not None:
            await admission.refund(uow.redis)
            return await _twin(uow, session, twin)
    uow.enqueue(job)
    return Submitted(row["id"], row["status"], None, created=True, job_id=job.job_id)


async def _group_write(group: GroupCommit, row: dict[str, Any], actor: str,
                       job: queue.QueuedJob, admission: Admission) -> int | None:
    done = group.add_submit(row, actor, job)
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        # The write goes on without this request; the quota stays taken if it commits.
        if await outcome(done):
            admission.keep()
        raise


def gpu_seconds_of(body: EvaluationCreate) -> int:
    """What a submit reserves of its tenant's daily GPU-seconds: gpus x timeout_s."""
    return body.config.gpus * body.config.timeout_s


async def _twin(uow: UnitOfWork, session: AsyncSession, evaluation: Evaluation) -> Submitted:
    return Submitted(evaluation.id, evaluation.status,
                     await queue_position(uow.redis, session, evaluation), created=False)


class KnownModels:
    """Model ids seen registered, remembered for `ttl_s`: the registry never deletes a
    model, so a positive answer stays true; unknown ids are always asked again."""

    def __init__(self, ttl_s: float = 60.0) -> None:
        self.ttl_s = ttl_s
        self._until: dict[str, float] = {}

    def __contains__(self, model_id: str) -> bool:
        return self._until.get(model_id, 0.0) > time.monotonic()

    def add(self, model_id: str) -> None:
        if len(self._until) > 10_000:
            self._until.clear()
        self._until[model_id] = time.monotonic() + self.ttl_s


async def _require_model(uow: UnitOfWork, session: AsyncSession | None, model_id: str,
                         known: KnownModels) -> None:
    if model_id in known:
        return
    if session is None:
        async with uow.db.session() as own:
            await _require_model(uow, own, model_id, known)
        return
    if not await session.scalar(select(select(Model.id).where(Model.id == model_id).exists())):
        close = await close_model_ids(session, model_id)
        raise ModelNotFound(f"model {model_id!r} is not registered",
                            hint=model_not_found_hint(close),
                            detail={"model_id": model_id, "did_you_mean": close})
    known.add(model_id)


async def _insert_keyed(
    session: AsyncSession, principal: Principal, body: EvaluationCreate, row: dict[str, Any]
) -> Evaluation | None:
    """Insert under a savepoint; return the twin if a concurrent submit won the key."""
    try:
        async with session.begin_nested():
            await lifecycle.insert_submitted(session, row, actor=principal.key_id)
    except IntegrityError:
        twin = await _idempotent_match(session, principal, body)
        if twin is None:
            raise
        return twin
    return None


def _new_row(principal: Principal, body: EvaluationCreate) -> dict[str, Any]:
    """The new evaluation as a table row: no ORM object, nothing reads it back."""
    now = utcnow()
    return lifecycle.evaluation_row(
        id=new_id("ev"),
        tenant_id=principal.tenant_id,
        model_id=body.model_id,
        kind=body.kind,
        script=body.script,
        tasks=body.tasks,
        num_fewshot=body.num_fewshot,
        task_limit=body.limit,
        config=body.config.model_dump(),
        status=EvaluationStatus.pending_validation.value,
        priority=_bounded_priority(principal, body.priority),
        tags=body.tags,
        idempotency_key=body.idempotency_key,
        # Only an idempotent retry compares bodies; hashing a 256 KiB script is not free.
        request_hash=None if body.idempotency_key is None else request_hash(body),
        callback_url=body.callback_url,
        created_by=principal.key_id,
        created_at=now,
        updated_at=now,
    )


async def queue_position(redis: ArqRedis, session: AsyncSession, evaluation: Evaluation
                         ) -> int | None:
    """1-based place among queued evaluations of every tenant: priority first, then age.

    Read from the queue itself (O(log n)); counted in the database only when the job is
    not in Redis (delivery lost and not yet re-sent by the reconciler).
    """
    if evaluation.status not in QUEUED:
        return None
    stage: queue.Stage = ("validate" if evaluation.status == EvaluationStatus.pending_validation
                          else "execute")
    place = await queue.position(redis, stage, evaluation.queue_job_id)
    if place is not None:
        return place
    ahead = await session.scalar(
        _ahead_query(evaluation.status, evaluation.priority, evaluation.created_at))
    return int(ahead or 0) + 1


def _ahead_query(status: str, priority: int, created_at: datetime) -> Select[int]:
    """How many evaluations in `status` run before one of this priority and age."""
    return select(func.count()).select_from(Evaluation).where(
        Evaluation.status == status,
        or_(
            Evaluation.priority > priority,
            and_(Evaluation.priority == priority, Evaluation.created_at < created_at),
        ),
    )


async def get_owned(session: AsyncSession, principal: Principal, evaluation_id: str) -> Evaluation:
    """The caller's evaluation; another tenant's is indistinguishable from a missing one."""
    evaluation = await session.get(Evaluation, evaluation_id)
    if evaluation is None or evaluation.tenant_id != principal.tenant_id:
        raise JobNotFound(f"evaluation {evaluation_id} not found",
                          detail={"evaluation_id": evaluation_id})
    return evaluation


async def describe(redis: ArqRedis, session: AsyncSession, evaluation: Evaluation
                   ) -> EvaluationOut:
    rows = await session.scalars(
        select(EvaluationTransition)
        .where(EvaluationTransition.evaluation_id == evaluation.id)
        .order_by(EvaluationTransition.id)
    )
    return EvaluationOut(
        evaluation_id=evaluation.id,
        status=evaluation.status,
        kind=evaluation.kind,
        model_id=evaluation.model_id,
        priority=evaluation.priority,
        tags=evaluation.tags or {},
        config=evaluation.config or {},
        tasks=evaluation.tasks,
        findings=[Finding.model_validate(f) for f in evaluation.findings or []],
        validation=evaluation.validation_report,
        result=evaluation.result,
        violation=ViolationOut(**evaluation.violation) if evaluation.violation else None,
        error=evaluation.error,
        exit_code=evaluation.exit_code,
        attempts=evaluation.attempts,
        queue_position=await queue_position(redis, session, evaluation),
        created_at=evaluation.created_at,
        updated_at=evaluation.updated_at,
        validated_at=evaluation.validated_at,
        started_at=evaluation.started_at,
        finished_at=evaluation.finished_at,
        transitions=[
            TransitionOut(from_status=t.from_status, to_status=t.to_status, actor=t.actor,
                          reason=t.reason, at=t.created_at)
            for t in rows
        ],
        callbacks=[
            CallbackAttemptOut(status=c.status, attempt=c.attempt, response_code=c.response_code,
                               error=c.error, delivered=c.delivered, at=c.created_at)
            for c in await session.scalars(
                select(CallbackAttempt).where(CallbackAttempt.evaluation_id == evaluation.id)
                .order_by(CallbackAttempt.id))
        ],
    )


async def change_priority(
    uow: UnitOfWork, session: AsyncSession, principal: Principal, evaluation_id: str,
    priority: int,
) -> Evaluation:
    """Re-order a queued evaluation: the row and its queued arq job move together."""
    evaluation = await get_owned(session, principal, evaluation_id)
    if evaluation.status not in QUEUED:
        raise JobAlreadyCompleted(
            f"evaluation {evaluation_id} is {evaluation.status}; priority only changes while "
            "queued", detail={"evaluation_id": evaluation_id, "status": evaluation.status},
            hint="Priority applies to pending_validation and validated evaluations.")
    priority = _bounded_priority(principal, priority)
    changed = await lifecycle.set_fields(session, evaluation_id,
                                         expected=EvaluationStatus(evaluation.status),
                                         values={"priority": priority})
    if not changed:
        raise JobAlreadyCompleted(f"evaluation {evaluation_id} left the queue meanwhile")
    await session.refresh(evaluation)
    stage: queue.Stage = ("validate" if evaluation.status == EvaluationStatus.pending_validation
                          else "execute")
    if evaluation.queue_job_id:
        job = queue.QueuedJob(stage, evaluation.id, evaluation.queue_job_id, priority)
        uow.after_commit(lambda: queue.reprioritise(uow.redis, job))
    return evaluation


async def cancel(
    session: AsyncSession, principal: Principal, evaluation_id: str
) -> tuple[Evaluation, EvaluationStatus | None]:
    """Cancel a live evaluation. Returns (evaluation, status it left, or None if unchanged)."""
    evaluation = await get_owned(session, principal, evaluation_id)
    if evaluation.status == EvaluationStatus.cancelled:
        return evaluation, None
    try:
        previous = await lifecycle.transition(
            session, evaluation_id, EvaluationStatus.cancelled,
            actor=principal.key_id, reason="cancelled by the owner",
        )
    except IllegalTransition as exc:
        if exc.current == EvaluationStatus.cancelled:
            return evaluation, None
        raise JobAlreadyCompleted(
            f"evaluation {evaluation_id} already finished as {exc.current}",
            detail={"evaluation_id": evaluation_id, "status": exc.current},
        ) from exc
    await session.refresh(evaluation)
    return evaluation, previous


def encode_cursor(created_at: datetime, evaluation_id: str) -> str:
    return PageCursor(created_at, evaluation_id).encode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises `InvalidConfig` for a string that is not a cursor (see `api.bounded`)."""
    decoded = PageCursor.decode(cursor)
    return decoded.created_at, decoded.evaluation_id


async def list_page(
    session: AsyncSession,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
    filters: dict[str, Any],
) -> EvaluationPage:
    """Newest first, keyset-paginated on (created_at, id) so deep pages stay fast."""
    query = select(Evaluation).where(Evaluation.tenant_id == principal.tenant_id)
    if filters.get("status"):
        query = query.where(Evaluation.status == filters["status"])
    if filters.get("model_id"):
        query = query.where(Evaluation.model_id == filters["model_id"])
    if filters.get("created_after"):
        query = query.where(Evaluation.created_at >= filters["created_after"])
    if filters.get("created_before"):
        query = query.where(Evaluation.created_at < filters["created_before"])
    tag = filters.get("tag")
    if cursor:
        created, last_id = decode_cursor(cursor)
        query = query.where(
            or_(Evaluation.created_at < created,
                and_(Evaluation.created_at == created, Evaluation.id < last_id))
        )
    query = query.order_by(Evaluation.created_at.desc(), Evaluation.id.desc())
    items: list[Evaluation] = []
    # Tags are JSON; filter them in Python over bounded batches to stay portable.
    batch = limit + 1 if not tag else max(limit * 4, 100)
    offset = 0
    while len(items) <= limit:
        rows = list(await session.scalars(query.limit(batch).offset(offset)))
        items.extend(r for r in rows if not tag or _tag_matches(r.tags, tag))
        if len(rows) < batch:
            break
        offset += batch
    page, more = items[:limit], len(items) > limit
    return EvaluationPage(
        items=[
            EvaluationSummary(evaluation_id=e.id, status=e.status, kind=e.kind,
                              model_id=e.model_id, priority=e.priority, tags=e.tags or {},
                              created_at=e.created_at, finished_at=e.finished_at)
            for e in page
        ],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more and page else None,
    )


def _tag_matches(tags: dict[str, Any] | None, wanted: str) -> bool:
    key, sep, value = wanted.partition(":")
    if not tags or key not in tags:
        return False
    return not sep or str(tags[key]) == value
