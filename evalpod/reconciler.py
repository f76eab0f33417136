"""Finds evaluations stuck in a live status with no live owner, and re-queues or fails them.

The database is the truth and Redis only delivers work, so any of these can
happen and must not lose an accepted evaluation: the API commits and dies before
enqueueing; Redis loses a job; a worker dies (SIGKILL, OOM, node loss) mid-job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy import select

from evalpod import lifecycle, live_quota, queue
from evalpod.db import Database
from evalpod.errors import IllegalTransition
from evalpod.lifecycle import EvaluationStatus
from evalpod.orm import Evaluation, utcnow
from evalpod.settings import Settings
from evalpod.terminal import on_terminal
from evalpod.workers import is_alive

log = logging.getLogger("evalpod.reconciler")
S = EvaluationStatus


@dataclass
class _Services:
    settings: Settings
    db: Database
    redis: ArqRedis


async def _orphaned(redis: ArqRedis, evaluation: Evaluation, grace: timedelta) -> bool:
    """No live worker owns it and arq no longer holds its job."""
    if evaluation.owner:
        # arq's in-progress key outlives a SIGKILLed worker, so only liveness counts here.
        return not await is_alive(redis, evaluation.owner)
    if await queue.is_pending(redis, evaluation.queue_job_id):
        return False
    # A just-committed evaluation's job may not be enqueued yet: give the API a moment.
    return utcnow() - evaluation.updated_at > grace


async def _requeue(
    db: Database, redis: ArqRedis, evaluation: Evaluation, settings: Settings, actor: str
) -> None:
    current = S(evaluation.status)
    stage: queue.Stage = "validate" if current == S.pending_validation else "execute"
    target = S.pending_validation if stage == "validate" else S.validated
    job = queue.new_job(stage, evaluation.id, evaluation.priority)
    lost_run = current == S.executing
    if lost_run and evaluation.attempts >= settings.max_attempts:
        async with db.session() as session:
            await lifecycle.transition(
                session, evaluation.id, S.failed, actor=actor, expected=current,
                guard={"owner": evaluation.owner},
                reason=f"run lost {evaluation.attempts} times (owner {evaluation.owner} died)",
                values={"owner": None, "error": "worker lost the run repeatedly"},
            )
        await on_terminal(_Services(settings, db, redis), evaluation.id, S.failed)
        return
    async with db.session() as session:
        await lifecycle.transition(
            session, evaluation.id, target, actor=actor, expected=current,
            reason=f"re-queued: owner {evaluation.owner or 'none'} is gone and no job is queued",
            values={"owner": None, "queue_job_id": job.job_id},
            guard={"owner": evaluation.owner, "queue_job_id": evaluation.queue_job_id},
        )
    await queue.send(redis, job)
    log.warning("re-queued %s (%s → %s)", evaluation.id, current, target)


async def reconcile_once(
    db: Database, redis: ArqRedis, settings: Settings, *, actor: str, limit: int = 200
) -> int:
    """One pass; returns how many evaluations it acted on."""
    grace = timedelta(seconds=max(settings.worker_liveness_ttl_s, 5.0))
    async with db.session() as session:
        rows = list(await session.scalars(
            select(Evaluation)
            .where(Evaluation.status.in_([s.value for s in lifecycle.LIVE]))
            .order_by(Evaluation.updated_at)
            .limit(limit)
        ))
    async with db.session() as session:
        counts = await live_quota.live_counts(session)
    await live_quota.resync(redis, counts)
    acted = 0
    for evaluation in rows:
        if not await _orphaned(redis, evaluation, grace):
            continue
        try:
            await _requeue(db, redis, evaluation, settings, actor)
            acted += 1
        except IllegalTransition:
            continue  # it moved on while we looked: someone owns it again
    return acted
