"""`evalpod monitor`: the standalone monitor loop (reconciler, and orphan clean-up on Kubernetes).

On the `local` backend each sandbox is supervised by the orchestrator process that
launched it (it holds the pipes); this loop finds what nobody supervises any more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from arq.connections import ArqRedis

from evalpod import queue
from evalpod.db import Database, get_database
from evalpod.reconciler import reconcile_once
from evalpod.settings import Settings
from evalpod.terminal import archive_pending_logs
from evalpod.workers import new_worker_id

log = logging.getLogger("evalpod.monitor")


@dataclass
class _Services:
    settings: Settings
    db: Database
    redis: ArqRedis


async def run_monitor(settings: Settings, stop: asyncio.Event) -> None:
    """Reconcile (and retry failed log archives) until `stop`; callbacks are delivered by
    a worker running beside it."""
    from evalpod.callbacks import create_worker

    actor = new_worker_id("monitor")
    db = get_database(settings.database_dsn())
    redis = await queue.connect(settings.redis_dsn())
    callbacks = create_worker(settings)
    callback_task = asyncio.create_task(callbacks.async_run())
    try:
        while not stop.is_set():
            try:
                await reconcile_once(db, redis, settings, actor=actor)
                await archive_pending_logs(_Services(settings, db, redis))
                if settings.backend == "kubernetes":
                    await _clean_kubernetes_orphans(db)
            except Exception:
                log.warning("monitor pass failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.reconcile_interval_s)
    finally:
        callback_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await callback_task
        await callbacks.close()
        await redis.aclose()


async def _clean_kubernetes_orphans(db: object) -> None:
    from orchestrator.kubernetes.reconciler import clean_orphans_from_settings

    await clean_orphans_from_settings(db)
