"""The reconciler: orphaned evaluations are re-queued exactly once, live ones are left alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy import select

from evalpod import lifecycle, queue
from evalpod.db import get_database
from evalpod.keys import ensure_tenant
from evalpod.lifecycle import EvaluationStatus as S
from evalpod.orm import Evaluation, EvaluationTransition, Model, new_id, utcnow
from evalpod.reconciler import reconcile_once
from evalpod.settings import get_settings
from evalpod.workers import LIVENESS_PREFIX, held_key


async def _orphan(dsn: str, status: S, *, owner: str | None, attempts: int = 0) -> str:
    async with get_database(dsn).session() as session:
        tenant = await ensure_tenant(session, "reconciler")
        if await session.get(Model, "m-reconciler") is None:
            session.add(Model(id="m-reconciler", name="m", storage_path="/x", checksum="0"))
            await session.flush()
        evaluation_id = new_id("ev")
        old = utcnow() - timedelta(minutes=5)
        session.add(Evaluation(id=evaluation_id, tenant_id=tenant.id, model_id="m-reconciler",
                               status=status.value, owner=owner, attempts=attempts,
                               queue_job_id=f"lost:{evaluation_id}", created_at=old,
                               updated_at=old))
    return evaluation_id


async def _requeues(dsn: str, evaluation_id: str) -> list[tuple[str | None, str]]:
    async with get_database(dsn).session() as session:
        rows = await session.scalars(select(EvaluationTransition).where(
            EvaluationTransition.evaluation_id == evaluation_id))
        return [(r.from_status, r.to_status) for r in rows]


async def test_concurrent_reconcilers_requeue_once(any_dsn: str, redis_client: ArqRedis) -> None:
    evaluation_id = await _orphan(any_dsn, S.pending_validation, owner=None)
    settings = get_settings()
    db = get_database(any_dsn)
    await asyncio.gather(*(reconcile_once(db, redis_client, settings, actor=f"r{i}")
                           for i in range(4)))
    assert await _requeues(any_dsn, evaluation_id) == [("pending_validation",
                                                        "pending_validation")]
    async with db.session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        assert evaluation is not None
        assert await queue.is_pending(redis_client, evaluation.queue_job_id)


async def test_lost_run_goes_back_to_validated_and_fails_after_max_attempts(
    any_dsn: str, redis_client: ArqRedis
) -> None:
    settings = get_settings()
    db = get_database(any_dsn)
    lost = await _orphan(any_dsn, S.executing, owner="orchestrator:gone", attempts=1)
    exhausted = await _orphan(any_dsn, S.executing, owner="orchestrator:gone",
                              attempts=settings.max_attempts)
    await reconcile_once(db, redis_client, settings, actor="r")
    async with db.session() as session:
        assert await lifecycle.current_status(session, lost) == S.validated
        assert await lifecycle.current_status(session, exhausted) == S.failed
        failed = await session.get(Evaluation, exhausted)
        assert failed is not None and "lost" in (failed.error or "")


async def test_evaluation_with_a_live_owner_is_left_alone(
    any_dsn: str, redis_client: ArqRedis
) -> None:
    await redis_client.set(LIVENESS_PREFIX + "orchestrator:alive", "orchestrator", px=60_000)
    running = await _orphan(any_dsn, S.executing, owner="orchestrator:alive")
    await redis_client.sadd(held_key("orchestrator:alive"), running)
    await reconcile_once(get_database(any_dsn), redis_client, get_settings(), actor="r")
    async with get_database(any_dsn).session() as session:
        assert await lifecycle.current_status(session, running) == S.executing
    assert await _requeues(any_dsn, running) == []


async def test_job_a_live_worker_no_longer_holds_is_handed_back(
    any_dsn: str, redis_client: ArqRedis
) -> None:
    """The worker lives on but its job failed after the claim (fault 1: a refused write)."""
    settings = get_settings()
    await redis_client.set(LIVENESS_PREFIX + "validator:alive", "validator", px=60_000)
    await redis_client.set(LIVENESS_PREFIX + "orchestrator:alive2", "orchestrator", px=60_000)
    validating = await _orphan(any_dsn, S.pending_validation, owner="validator:alive")
    running = await _orphan(any_dsn, S.executing, owner="orchestrator:alive2", attempts=1)
    db = get_database(any_dsn)
    await reconcile_once(db, redis_client, settings, actor="r")
    async with db.session() as session:
        assert await lifecycle.current_status(session, validating) == S.pending_validation
        assert await lifecycle.current_status(session, running) == S.validated
    assert await _requeues(any_dsn, validating) == [("pending_validation",
                                                     "pending_validation")]


async def test_validation_lost_max_attempts_times_fails(
    any_dsn: str, redis_client: ArqRedis
) -> None:
    settings = get_settings()
    db = get_database(any_dsn)
    validating = await _orphan(any_dsn, S.pending_validation, owner="validator:gone")
    for attempt in range(settings.max_attempts):
        await reconcile_once(db, redis_client, settings, actor="r")
        async with db.session() as session:
            status = await lifecycle.current_status(session, validating)
            if attempt < settings.max_attempts - 1:
                assert status == S.pending_validation
                # The next worker claims it and is lost too.
                assert await lifecycle.set_fields(
                    session, validating, expected=S.pending_validation,
                    values={"owner": "validator:gone"})
    async with db.session() as session:
        assert await lifecycle.current_status(session, validating) == S.failed
        evaluation = await session.get(Evaluation, validating)
        assert evaluation is not None and "validation" in (evaluation.error or "")
