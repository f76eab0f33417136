"""What happens once an evaluation reaches a terminal status, whoever put it there."""

from __future__ import annotations

import logging
from typing import Protocol

from arq.connections import ArqRedis
from sqlalchemy import select

from evalpod import queue
from evalpod.db import Database
from evalpod.lifecycle import EvaluationStatus
from evalpod.orm import Evaluation
from evalpod.settings import Settings
from monitor.logs import close_stream

log = logging.getLogger("evalpod.terminal")


class HasServices(Protocol):
    settings: Settings
    db: Database
    redis: ArqRedis


async def on_terminal(services: HasServices, evaluation_id: str,
                      status: EvaluationStatus) -> None:
    """Close the log (SSE readers get `end`) and queue the callback. Never raises: the
    status is already saved, and readers fall back to the database."""
    try:
        await close_stream(services.redis, evaluation_id, status.value,
                           ttl_s=services.settings.log_stream_ttl_s)
        async with services.db.session() as session:
            url = await session.scalar(
                select(Evaluation.callback_url).where(Evaluation.id == evaluation_id))
        if url:
            await services.redis.enqueue_job(
                queue.CALLBACK_FUNCTION, evaluation_id, _queue_name=queue.CALLBACK_QUEUE,
                _job_id=f"callback:{evaluation_id}")
    except Exception:
        log.warning("terminal hooks of %s failed", evaluation_id, exc_info=True)
