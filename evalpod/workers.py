"""What every worker process shares: identity, liveness heartbeat, cancel signals, arq setup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Worker, func

from evalpod import queue
from evalpod.db import Database, get_database
from evalpod.settings import Settings, get_settings
from evalpod.signals import CANCEL_CHANNEL
from orchestrator.gpus import GpuAllocator, detect_gpus
from orchestrator.sandbox import SandboxBackend, get_backend

log = logging.getLogger("evalpod.worker")
LIVENESS_PREFIX = "evalpod:worker:"


def new_worker_id(role: str) -> str:
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def is_alive(redis: ArqRedis, worker_id: str | None) -> bool:
    if not worker_id:
        return False
    return bool(await redis.exists(LIVENESS_PREFIX + worker_id))


class CancelWatcher:
    """One pub/sub subscription per process, fanned out to the jobs it runs."""

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis
        self._events: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, evaluation_id: str) -> asyncio.Event:
        event = self._events.setdefault(evaluation_id, asyncio.Event())
        return event

    def forget(self, evaluation_id: str) -> None:
        self._events.pop(evaluation_id, None)

    async def start(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(CANCEL_CHANNEL)
        self._task = asyncio.create_task(self._listen(pubsub))

    async def _listen(self, pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            data = message["data"]
            evaluation_id = data.decode() if isinstance(data, bytes) else str(data)
            event = self._events.get(evaluation_id)
            if event is not None:
                event.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


@dataclass
class WorkerState:
    """Handed to every job through arq's ctx['state']."""

    role: str
    worker_id: str
    settings: Settings
    db: Database
    redis: ArqRedis
    cancels: CancelWatcher
    gpus: GpuAllocator
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _backend: SandboxBackend | None = None

    @property
    def backend(self) -> SandboxBackend:
        """The sandbox backend, built once per process (a Kubernetes one holds an API client)."""
        if self._backend is None:
            self._backend = get_backend(self.settings.backend)
        return self._backend


async def _heartbeat(state: WorkerState) -> None:
    ttl_ms = int(state.settings.worker_liveness_ttl_s * 1000)
    key = LIVENESS_PREFIX + state.worker_id
    while True:
        try:
            await state.redis.set(key, state.role, px=ttl_ms)
        except Exception:
            log.warning("heartbeat failed", exc_info=True)
        await asyncio.sleep(state.settings.worker_heartbeat_s)


async def _reconcile_forever(state: WorkerState) -> None:
    from evalpod.reconciler import reconcile_once

    while True:
        try:
            await reconcile_once(state.db, state.redis, state.settings, actor=state.worker_id)
        except Exception:
            log.warning("reconcile pass failed", exc_info=True)
        await asyncio.sleep(state.settings.reconcile_interval_s)


def build_worker(
    role: str,
    function: Callable[..., Awaitable[Any]],
    queue_name: str,
    concurrency: int,
    *,
    job_timeout_s: int,
    settings: Settings | None = None,
    reconcile: bool = True,
    max_tries: int = 1,
    on_start: Callable[[], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> Worker:
    """An arq worker whose jobs receive a `WorkerState`; heartbeat and reconciler run beside it."""
    settings = settings or get_settings()

    async def on_startup(ctx: dict[str, Any]) -> None:
        redis: ArqRedis = ctx["redis"]
        cancels = CancelWatcher(redis)
        await cancels.start()
        state = WorkerState(role, new_worker_id(role), settings,
                            get_database(settings.database_dsn()), redis, cancels,
                            GpuAllocator(detect_gpus(settings)))
        await state.redis.set(LIVENESS_PREFIX + state.worker_id, role,
                              px=int(settings.worker_liveness_ttl_s * 1000))
        state.tasks.append(asyncio.create_task(_heartbeat(state)))
        if reconcile:
            state.tasks.append(asyncio.create_task(_reconcile_forever(state)))
        ctx["state"] = state
        if on_start is not None:
            await asyncio.to_thread(on_start)
        log.info("%s worker %s started", role, state.worker_id)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        state: WorkerState | None = ctx.get("state")
        if state is None:
            return
        for task in state.tasks:
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
        await state.cancels.stop()
        await state.redis.delete(LIVENESS_PREFIX + state.worker_id)
        if on_stop is not None:
            on_stop()

    return Worker(
        functions=[func(function, name=function.__name__,  # type: ignore[arg-type]
                        timeout=job_timeout_s, max_tries=max_tries)],
        queue_name=queue_name,
        redis_settings=queue.redis_settings(settings.redis_dsn()),
        max_jobs=concurrency,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        handle_signals=False,
        keep_result=60,
        poll_delay=0.1,
        job_completion_wait=0,
    )
