"""What happens once an evaluation reaches a terminal status, whoever put it there."""

from __future__ import annotations

import logging
from typing import Protocol

from arq.connections import ArqRedis
from sqlalchemy import select

from evalpod import queue
from evalpod.db import Database
from evalpod.lifecycle import EvaluationStatus
from evalpod.live_quota import give_back_slot
from evalpod.logs.archive import archive_log
from evalpod.logs.stream import close_stream
from evalpod.orm import Evaluation
from evalpod.settings import Settings

log = logging.getLogger("evalpod.terminal")

PENDING_ARCHIVE_KEY = "evalpod:logs:pending-archive"


class HasServices(Protocol):
    settings: Settings
    db: Database
    redis: ArqRedis


async def on_terminal(services: HasServices, evaluation_id: str,
                      status: EvaluationStatus) -> None:
    """Archive the log, close it (SSE readers get `end`), give the tenant's live slot back
    and queue the callback. Never raises: the status is already saved, readers
    fall back to the database, and the reconciler's resync repairs a slot not given back."""
    # The log is archived before `end` is published: a reader that saw `end` (or a
    # restart of `evalpod up` right after it) finds the whole log in the database.
    await archive_job_log(services, evaluation_id)
    try:
        await close_stream(services.redis, evaluation_id, status.value,
                           ttl_s=services.settings.log_stream_ttl_s)
        async with services.db.session() as session:
            row = (await session.execute(
                select(Evaluation.tenant_id, Evaluation.callback_url)
                .where(Evaluation.id == evaluation_id))).first()
        if row is None:
            return
        tenant_id, url = row
        await give_back_slot(services.redis, tenant_id)
        if url:
            await services.redis.enqueue_job(
                queue.CALLBACK_FUNCTION, evaluation_id, _queue_name=queue.CALLBACK_QUEUE,
                _job_id=f"callback:{evaluation_id}")
    except Exception:
        log.warning("terminal hooks of %s failed", evaluation_id, exc_info=True)


async def archive_job_log(services: HasServices, evaluation_id: str) -> None:
    """Copy what the log stream holds and the archive lacks into the database.

    Called when a job ends (the trial, the run, any terminal status). Never raises:
    a log that could not be archived now is marked pending, and the monitor's pass
    (`archive_pending_logs`) tries again while the stream still holds it."""
    try:
        await archive_log(services.db, services.redis, evaluation_id,
                          max_bytes=services.settings.log_archive_max_bytes)
    except Exception:
        log.warning("archiving the log of %s failed", evaluation_id, exc_info=True)
        try:
            await services.redis.sadd(PENDING_ARCHIVE_KEY, evaluation_id)  # type: ignore[misc]
        except Exception:
            log.warning("could not mark the log of %s pending", evaluation_id, exc_info=True)


async def archive_pending_logs(services: HasServices, *, batch: int = 100) -> int:
    """Retry the archives that failed (a database blip at a job's end); how many are done.

    Raises Redis errors; a log that fails again stays pending for the next pass."""
    done = 0
    pending = await services.redis.srandmember(PENDING_ARCHIVE_KEY, batch)  # type: ignore[misc]
    for member in pending or []:
        evaluation_id = member.decode() if isinstance(member, bytes) else str(member)
        try:
            await archive_log(services.db, services.redis, evaluation_id,
                              max_bytes=services.settings.log_archive_max_bytes)
        except Exception:
            log.warning("archiving the log of %s failed again", evaluation_id, exc_info=True)
            continue
        await services.redis.srem(PENDING_ARCHIVE_KEY, evaluation_id)  # type: ignore[misc]
        done += 1
    return done
