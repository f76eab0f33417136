"""What every worker process shares: identity, liveness heartbeat, cancel signals, arq setup.

Ownership: a worker that claims an evaluation writes itself as `owner` in the database
and, before that, adds the evaluation to its *held set* in Redis
(`evalpod:worker:<id>:jobs`, renewed with its liveness key; both keys are defined in
`evalpod.reconciler`, which reads them). It removes it once its last write for the job
is done, whatever happened. The reconciler treats an evaluation as
orphaned when its owner is dead *or* alive but no longer holding it, so a job whose
worker failed after the claim (a write refused, a bug, a timeout) is handed back even
though the process lives on.

The kernel runs sandboxes and hands out GPUs without knowing how: the orchestrator
component registers its backend and GPU allocator (`register_components`, done by
`orchestrator.components` on import), and a worker builds them from the registration.
With each heartbeat a worker also publishes what its backend reports (`status_key`, the
local warm pool's counts): `/health` and `/metrics` are served by the API process, which
owns no sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from arq.connections import ArqRedis
from arq.worker import Worker, func
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError

from evalpod import queue
from evalpod.db import Database, get_database
from evalpod.errors import IllegalTransition
from evalpod.reconciler import LIVENESS_PREFIX as LIVENESS_PREFIX
from evalpod.reconciler import hand_back, reconcile_once
from evalpod.reconciler import held_key as held_key
from evalpod.reconciler import holds as holds
from evalpod.reconciler import is_alive as is_alive
from evalpod.settings import Settings, get_settings
from evalpod.signals import CANCEL_CHANNEL

log = logging.getLogger("evalpod.worker")
T = TypeVar("T")
J = TypeVar("J")
# Failures worth a second try: the connection, not the statement (a lost race is final).
TRANSIENT: tuple[type[BaseException], ...] = (DBAPIError, OSError, RedisConnectionError,
                                              RedisTimeoutError)
RETRY_DELAYS_S = (0.2, 1.0, 3.0)


class WorkerBackend(Protocol):
    """What the kernel itself needs of a sandbox backend (`orchestrator.sandbox.SandboxBackend`
    is one): its heartbeat report and its release at shutdown."""

    def status(self) -> dict[str, Any]:
        """JSON values published with the heartbeat (e.g. `{"warm_pool": {...}}`)."""
        ...

    async def aclose(self) -> None: ...


class GpuPool(Protocol):
    """Whole GPUs handed to jobs (`orchestrator.gpus.GpuAllocator` is one)."""

    def acquire(self, count: int, priority: int = 0, *, stop: asyncio.Event | None = None
                ) -> AbstractAsyncContextManager[tuple[int, ...]]: ...


@dataclass(frozen=True)
class WorkerComponents:
    """What a component lends every worker process: its sandbox backend and its GPUs,
    each built from the settings once per process."""

    backend: Callable[[Settings], WorkerBackend]
    gpus: Callable[[Settings], GpuPool]


_registered: WorkerComponents | None = None


def register_components(components: WorkerComponents) -> None:
    """Make `components` what workers built from now on use (the last registration wins)."""
    global _registered
    _registered = components


def registered_components() -> WorkerComponents:
    """The registered components. Raises RuntimeError when none was (a worker then has no
    sandbox: import `orchestrator.components` in the process's entry point)."""
    if _registered is None:
        raise RuntimeError("no sandbox component registered with the workers "
                           "(import orchestrator.components)")
    return _registered


class _NoGpuPool:
    """The GPUs of a worker built with no component registered (one that runs no
    sandbox, such as the callback worker): asking for any is a programming error."""

    def acquire(self, count: int, priority: int = 0, *, stop: asyncio.Event | None = None
                ) -> AbstractAsyncContextManager[tuple[int, ...]]:
        raise RuntimeError("no GPU pool registered with the workers "
                           "(import orchestrator.components)")


def status_key(worker_id: str) -> str:
    """The worker's published status: a JSON object with its role and its backend's report,
    renewed with its liveness key."""
    return LIVENESS_PREFIX + worker_id + ":status"


async def retrying(write: Callable[[], Awaitable[T]], *, what: str,
                   delays: tuple[float, ...] | None = None) -> T:
    """`write()` (one whole transaction), tried again after each of `delays` seconds while
    it fails with a `TRANSIENT` error (a restarting database, a dropped connection).
    Raises the last error when the delays are spent, and anything else at once."""
    for delay in RETRY_DELAYS_S if delays is None else delays:
        try:
            return await write()
        except TRANSIENT:
            log.warning("%s failed; again in %.1fs", what, delay, exc_info=True)
        await asyncio.sleep(delay)
    return await write()


async def run_claimed(
    ctx: dict[str, Any], stage: queue.Stage, evaluation_id: str,
    claim: Callable[[WorkerState, str], Awaitable[J | None]],
    run: Callable[[WorkerState, J], Awaitable[str]],
) -> str:
    """The claim / run / hand-back skeleton every arq job of a worker shares.

    The evaluation is held (`WorkerState.holding`) from before the claim until after the
    last write. A claim that fails or loses its race ("claim-failed", "skipped") leaves
    the evaluation as it was: its queued job or the reconciler brings it back. Whatever
    fails after the claim, the evaluation is not left owned by a live worker doing
    nothing: it is handed back (re-queued, or failed once its attempts are spent,
    "handed-back"), or, if even that write fails, released with the held set for the
    reconciler.

    `claim(state, evaluation_id)` takes the evaluation in one transaction (owner = this
    worker) and returns what `run` needs, or None when there is nothing to do; `run(state,
    job)` does the stage's work, records its outcome and returns a word for arq's result,
    which `run_claimed` returns. Never raises an `Exception` (cancellation, such as arq's
    job timeout, passes through: the held set is released and the reconciler takes over)."""
    state: WorkerState = ctx["state"]
    await queue.started(state.redis, stage, ctx.get("job_id"))
    async with state.holding(evaluation_id):
        try:
            job = await claim(state, evaluation_id)
        except IllegalTransition:
            return "skipped"  # another worker's claim won the race: expected, nothing to do
        except Exception:
            # Nothing was claimed (the transaction rolled back); the reconciler re-queues.
            log.exception("claiming %s (%s) failed", evaluation_id, stage)
            return "claim-failed"
        if job is None:
            return "skipped"
        try:
            return await run(state, job)
        except Exception as exc:
            log.exception("%s of %s failed after its claim", stage, evaluation_id)
            cause = f"{state.role} error: {type(exc).__name__}: {exc}"[:500]
            try:
                await hand_back(state.db, state.redis, state.settings, evaluation_id,
                                owner=state.worker_id, cause=cause)
            except Exception:
                log.exception("handing %s back failed; the reconciler will", evaluation_id)
            return "handed-back"


async def published_statuses(redis: ArqRedis) -> list[dict[str, Any]]:
    """The status (`WorkerState.status`) every live worker published with its heartbeat;
    one Redis scan. A status that is not a JSON object is skipped."""
    keys = [key async for key in redis.scan_iter(match=status_key("*"), count=500)]
    found = []
    for raw in await redis.mget(keys) if keys else []:
        try:
            status = json.loads(raw) if raw is not None else None
        except ValueError:
            continue
        if isinstance(status, dict):
            found.append(status)
    return found


def new_worker_id(role: str) -> str:
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


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
        self._task = asyncio.create_task(self._listen_forever(pubsub))

    async def _listen_forever(self, pubsub: Any) -> None:
        """Subscribe again after Redis goes away (a restart drops every subscription)."""
        while True:
            try:
                await self._listen(pubsub)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("cancel subscription lost (%s); subscribing again", exc)
            await asyncio.sleep(1.0)
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            pubsub = self._redis.pubsub()
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await pubsub.subscribe(CANCEL_CHANNEL)

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
    gpus: GpuPool
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    held: set[str] = field(default_factory=set)
    _backend: WorkerBackend | None = None
    components: WorkerComponents | None = None  # None: the registered ones

    @contextlib.asynccontextmanager
    async def holding(self, evaluation_id: str) -> AsyncIterator[None]:
        """Hold `evaluation_id` for the block: enter *before* the claim commits and leave
        after the last write. Leaving never raises; if Redis is unreachable the held set
        expires with the liveness key or is rewritten without it by the next heartbeat.
        Raises what Redis raises on entry (then nothing is claimed)."""
        key = held_key(self.worker_id)
        self.held.add(evaluation_id)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.sadd(key, evaluation_id)
                pipe.pexpire(key, self._ttl_ms())
                await pipe.execute()
            yield
        finally:
            self.held.discard(evaluation_id)
            try:
                await asyncio.shield(self._release(key, evaluation_id))
            except (Exception, asyncio.CancelledError):
                log.warning("could not release %s; it expires with the heartbeat",
                            evaluation_id, exc_info=True)

    async def _release(self, key: str, evaluation_id: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.srem(key, evaluation_id)
            await pipe.execute()

    def _ttl_ms(self) -> int:
        return int(self.settings.worker_liveness_ttl_s * 1000)

    @property
    def backend(self) -> Any:
        """The component's sandbox backend (an `orchestrator.sandbox.SandboxBackend`), built
        once per process (a Kubernetes one holds an API client). Raises RuntimeError when
        no component is registered."""
        if self._backend is None:
            components = self.components or registered_components()
            self._backend = components.backend(self.settings)
        return self._backend

    def status(self) -> dict[str, Any]:
        """What the heartbeat publishes: the role, and the backend's report once it is built
        (a status is never the reason to build one)."""
        report = self._backend.status() if self._backend is not None else {}
        return {"role": self.role, **report}


async def beat(state: WorkerState) -> None:
    """Renew the liveness key and rewrite the held set from memory (it survives a Redis
    restart that way); one atomic round trip."""
    ttl_ms = state._ttl_ms()
    key = held_key(state.worker_id)
    try:
        status = json.dumps(state.status())
    except Exception:  # a report must never cost the worker its liveness
        log.warning("backend status not published", exc_info=True)
        status = json.dumps({"role": state.role})
    async with state.redis.pipeline(transaction=True) as pipe:
        pipe.set(LIVENESS_PREFIX + state.worker_id, state.role, px=ttl_ms)
        pipe.set(status_key(state.worker_id), status, px=ttl_ms)
        pipe.delete(key)
        if state.held:
            pipe.sadd(key, *sorted(state.held))
            pipe.pexpire(key, ttl_ms)
        await pipe.execute()


async def _heartbeat(state: WorkerState) -> None:
    while True:
        try:
            await beat(state)
        except Exception:
            log.warning("heartbeat failed", exc_info=True)
        await asyncio.sleep(state.settings.worker_heartbeat_s)


async def _reconcile_forever(state: WorkerState) -> None:
    while True:
        try:
            await reconcile_once(state.db, state.redis, state.settings, actor=state.worker_id)
        except Exception:
            log.warning("reconcile pass failed", exc_info=True)
        await asyncio.sleep(state.settings.reconcile_interval_s)


class ResilientWorker(Worker):
    """arq's worker, except that a Redis error while polling the queue is waited out and
    never costs the worker one of its job slots.

    arq ends its poll loop on the first Redis error, which leaves a process whose heartbeat
    still says "alive" but that takes no more jobs; a Redis restart did that to every
    worker. A restart while arq watches a job's in-progress key surfaces as `WatchError`
    (not a `ConnectionError`): that one ended the whole process, sandboxes included. Jobs
    already running carry on either way (the database is the truth)."""

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (RedisError, OSError) as exc:
            log.warning("polling %s failed (%s); again in 1 s", self.queue_name, exc)
            await asyncio.sleep(1.0)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's, one job at a time: arq counts a job and takes a slot of its semaphore
        before the Redis calls that start it, and a Redis error there gives back neither,
        so a few restarts at that moment left a live worker with no slot to take jobs."""
        for job_id in job_ids:
            if self.job_counter >= self.max_jobs:
                return
            before = self.tasks.get(job_id.decode())
            try:
                await super().start_jobs([job_id])
            except (RedisError, OSError):
                # The only await before arq counts the job is the semaphore, which raises no
                # Redis error: so this job was counted, and no task was started for it.
                if self.tasks.get(job_id.decode()) is before:
                    self.job_counter -= 1
                    self.sem.release()
                raise

    async def close(self) -> None:
        """arq's, except that it always runs `on_shutdown` and closes the Redis pool, and a
        normal shutdown never raises.

        arq cancels the running jobs and then awaits them: a job cancelled outside its
        function (while its result is recorded or its start is read) ends as cancelled, so
        that await raised CancelledError and close stopped before `on_shutdown` (liveness
        key, held set, cancel subscription, the backend's sandboxes) and the pool's close.
        A failing `on_shutdown` or a Redis error is logged; the pool is closed anyway."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        pool = self._pool
        try:
            results = await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    log.warning("a %s job ended with %r at shutdown", self.queue_name, result)
        finally:  # even when close itself is cancelled: what the worker holds is released
            try:
                await self._shut_down(pool)
            finally:
                await pool.close(close_connection_pool=True)
                self._pool = None

    async def _shut_down(self, pool: ArqRedis) -> None:
        try:
            await pool.delete(self.health_check_key)
        except (RedisError, OSError) as exc:
            log.warning("deleting %s at shutdown failed (%s)", self.health_check_key, exc)
        if self.on_shutdown:
            try:
                await self.on_shutdown(self.ctx)
            except Exception:
                log.exception("shutting the %s worker down failed", self.queue_name)


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
    components: WorkerComponents | None = None,
) -> ResilientWorker:
    """An arq worker whose jobs receive a `WorkerState`; heartbeat and reconciler run beside it.
    `components`: the sandbox backend and GPUs (default: the registered ones, looked up
    when the worker starts; with none, using either raises RuntimeError)."""
    settings = settings or get_settings()

    async def on_startup(ctx: dict[str, Any]) -> None:
        redis: ArqRedis = ctx["redis"]
        cancels = CancelWatcher(redis)
        await cancels.start()
        # A worker that runs no sandbox (callbacks, in the monitor's process) needs none.
        chosen = components or _registered
        gpus = chosen.gpus(settings) if chosen is not None else _NoGpuPool()
        state = WorkerState(role, new_worker_id(role), settings,
                            get_database(settings.database_dsn()), redis, cancels, gpus,
                            components=chosen)
        await beat(state)
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
        if state._backend is not None:
            await state._backend.aclose()  # the local backend's warm sandboxes
        await state.redis.delete(LIVENESS_PREFIX + state.worker_id, held_key(state.worker_id),
                                 status_key(state.worker_id))
        if on_stop is not None:
            on_stop()

    return ResilientWorker(
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
