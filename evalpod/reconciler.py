"""Finds evaluations stuck in a live status with no live owner, and re-queues or fails them.

The database is the truth and Redis only delivers work, so any of these can
happen and must not lose an accepted evaluation: the API commits and dies before
enqueueing; Redis loses a job; a worker dies (SIGKILL, OOM, node loss) mid-job; a worker
lives on but failed after its claim (a write refused, a bug) and no longer holds the job
(see `evalpod.workers`). Every hand-back is bounded: a run by `attempts`, a validation by
the number of times a worker lost it; past `max_attempts` the evaluation fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy import func, select

from evalpod import lifecycle, live_quota, queue
from evalpod.db import Database
from evalpod.errors import IllegalTransition
from evalpod.lifecycle import EvaluationStatus
from evalpod.orm import Evaluation, EvaluationTransition, utcnow
from evalpod.settings import Settings
from evalpod.terminal import on_terminal

log = logging.getLogger("evalpod.reconciler")
S = EvaluationStatus
VALIDATION_LOST = "re-queued: validation lost by "
# Written by every worker (`evalpod.workers.beat`), read here: `<prefix><worker id>` is its
# liveness key, `<prefix><worker id>:jobs` the set of evaluations it holds.
LIVENESS_PREFIX = "evalpod:worker:"
LIVE_VALUES = frozenset(status.value for status in lifecycle.LIVE)


def held_key(worker_id: str) -> str:
    return LIVENESS_PREFIX + worker_id + ":jobs"


async def is_alive(redis: ArqRedis, worker_id: str | None) -> bool:
    if not worker_id:
        return False
    return bool(await redis.exists(LIVENESS_PREFIX + worker_id))


async def holds(redis: ArqRedis, worker_id: str | None, evaluation_id: str) -> bool:
    """Whether `worker_id` is alive and still working on `evaluation_id`."""
    if not worker_id:
        return False
    async with redis.pipeline(transaction=False) as pipe:
        pipe.exists(LIVENESS_PREFIX + worker_id)
        pipe.sismember(held_key(worker_id), evaluation_id)
        alive, held = await pipe.execute()
    return bool(alive) and bool(held)


@dataclass
class _Services:
    settings: Settings
    db: Database
    redis: ArqRedis


async def _orphaned(redis: ArqRedis, evaluation: Evaluation, grace: timedelta) -> bool:
    """No live worker holds it and arq no longer holds its job."""
    if evaluation.owner:
        # arq's in-progress key outlives a SIGKILLed worker, so only liveness counts here.
        return not await holds(redis, evaluation.owner, evaluation.id)
    if await queue.is_pending(redis, evaluation.queue_job_id):
        return False
    # A just-committed evaluation's job may not be enqueued yet: give the API a moment.
    return utcnow() - evaluation.updated_at > grace


async def _requeue(
    db: Database, redis: ArqRedis, evaluation: Evaluation, settings: Settings, actor: str,
    cause: str | None = None, delay: timedelta = timedelta(0),
) -> None:
    current = S(evaluation.status)
    stage: queue.Stage = "validate" if current == S.pending_validation else "execute"
    target = S.pending_validation if stage == "validate" else S.validated
    job = queue.new_job(stage, evaluation.id, evaluation.priority,
                        tenant_id=evaluation.tenant_id)
    lost_run = current == S.executing
    async with db.session() as session:
        lost_validations = 0
        if stage == "validate" and evaluation.owner:
            lost_validations = 1 + int(await session.scalar(
                select(func.count()).select_from(EvaluationTransition).where(
                    EvaluationTransition.evaluation_id == evaluation.id,
                    EvaluationTransition.reason.startswith(VALIDATION_LOST))) or 0)
    if (lost_run and evaluation.attempts >= settings.max_attempts) or (
            lost_validations >= settings.max_attempts):
        what = "run" if lost_run else "validation"
        times = evaluation.attempts if lost_run else lost_validations
        async with db.session() as session:
            await lifecycle.transition(
                session, evaluation.id, S.failed, actor=actor, expected=current,
                guard={"owner": evaluation.owner},
                reason=f"{what} lost {times} times (last owner {evaluation.owner})"
                       + (f": {cause}" if cause else ""),
                values={"owner": None, "error": f"workers lost the {what} repeatedly"},
            )
        await on_terminal(_Services(settings, db, redis), evaluation.id, S.failed)
        return
    reason = (f"{VALIDATION_LOST}{evaluation.owner}" if lost_validations
              else f"re-queued: owner {evaluation.owner or 'none'} is gone and no job is queued")
    if cause:
        reason = f"{reason}: {cause}"
    async with db.session() as session:
        await lifecycle.transition(
            session, evaluation.id, target, actor=actor, expected=current,
            reason=reason,
            values={"owner": None, "queue_job_id": job.job_id},
            guard={"owner": evaluation.owner, "queue_job_id": evaluation.queue_job_id},
        )
    await queue.send(redis, job, delay=delay)
    log.warning("re-queued %s (%s → %s)", evaluation.id, current, target)


async def hand_back(db: Database, redis: ArqRedis, settings: Settings, evaluation_id: str,
                    *, owner: str, cause: str, delay: timedelta = timedelta(0)) -> None:
    """A worker gives up a job it claimed (`owner`) after an unexpected failure: the job is
    re-queued, or failed once the stage's attempts are spent, exactly as the reconciler
    would once the worker stopped holding it, with `cause` in the recorded reason; the
    re-queued job waits `delay` first. Raises what the database raises;
    `IllegalTransition` if the job moved on meanwhile."""
    async with db.session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
    if evaluation is None or evaluation.owner != owner or evaluation.status not in LIVE_VALUES:
        return  # finished, or already taken over
    await _requeue(db, redis, evaluation, settings, owner, cause=cause, delay=delay)


async def _redis_uptime_s(redis: ArqRedis) -> float:
    try:
        info = await redis.info("server")
        return float(info.get("uptime_in_seconds", float("inf")))
    except Exception:  # INFO can be disabled on managed Redis: then nothing is skipped
        return float("inf")


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
    # Just after a Redis restart no liveness key or held set exists yet: the heartbeats
    # rewrite them within one TTL, so owned evaluations are not judged before that.
    judge_owned = await _redis_uptime_s(redis) > settings.worker_liveness_ttl_s
    acted = 0
    for evaluation in rows:
        if evaluation.owner and not judge_owned:
            continue
        if not await _orphaned(redis, evaluation, grace):
            continue
        try:
            await _requeue(db, redis, evaluation, settings, actor)
            acted += 1
        except IllegalTransition:
            continue  # it moved on while we looked: someone owns it again
    return acted
