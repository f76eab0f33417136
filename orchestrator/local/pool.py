"""The local backend's warm pool: sandboxes started ahead of demand, one job each.

A warm sandbox is a full local sandbox (namespaces, seccomp, read-only binds, no
network, capped tmpfs, its own cgroup) whose harness has already imported what a cold
job imports before its runtime guard is armed (torch, transformers, lm-eval's HFLM and
the model's architecture class), then blocks on stdin. A job takes one: its cgroup
limits are written, its spec and script go down the pipe, the harness applies its
rlimits, loads the model, arms the guard and runs the script. The sandbox is destroyed
after that job like any other and never reused.

Bind mounts are fixed when bubblewrap starts, so a sandbox is built for a `PoolKey`:
what is mounted (the model or shadow directory, the GPU slot's devices) and what sizes
its tmpfs mounts and environment (CPUs, disk, result cap). Keys are learned from
demand: a job's key becomes "recently used" and is kept at `warm_pool_size` ready
sandboxes (`warm_pool_gpu_size` for a GPU slot) until it has been idle for
`warm_pool_idle_s`. A job that names datasets or extra job files, or of a kind other
than a script or lm-eval run, always starts cold; so does any job that finds no ready
sandbox for its key (unless `warm_pool_on_miss` is `warm`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from evalpod.settings import Settings
from orchestrator.sandbox import ResourceLimits, SandboxJob

if TYPE_CHECKING:
    from orchestrator.local.backend import LocalBackend, LocalProcess

log = logging.getLogger(__name__)

# The harness's side of the protocol (sandbox_images/harness/run.py, which cannot import
# this module): its argv flag and the line it prints once warm.
WARM_FLAG = "--warm"
WARM_READY = "[evalpod] warm sandbox ready"
WARM_KINDS = ("script", "lm_eval")
# A key whose warm-up failed is not warmed again for this long (a broken model directory
# would otherwise be retried in a loop); its jobs start cold meanwhile.
FAILED_BACKOFF_S = 60.0
REAP_INTERVAL_MAX_S = 5.0
_serial = itertools.count(1)


@dataclass(frozen=True)
class PoolKey:
    """What a warm sandbox is built with, so what a job must match to take it."""

    model_dir: Path | None
    gpu_indices: tuple[int, ...]
    cpus: float
    disk_mb: int
    max_result_bytes: int

    @classmethod
    def of(cls, job: SandboxJob) -> PoolKey | None:
        """The key of `job`, or None when the job can only start cold (datasets or other
        mounts, extra job files, a kind that is not a script or lm-eval run)."""
        if job.kind not in WARM_KINDS or job.mounts or job.job_files:
            return None
        limits = job.limits
        return cls(
            model_dir=job.model_path.resolve() if job.model_path else None,
            gpu_indices=limits.gpu_indices,
            cpus=limits.cpus,
            disk_mb=limits.disk_mb,
            max_result_bytes=limits.max_result_bytes,
        )

    def template(self, settings: Settings) -> SandboxJob:
        """The job a warm sandbox of this key is started as: no script, the key's mounts
        and sizes, and limits no real job exceeds until its own replace them (the CPU
        rlimit allows the longest timeout; the harness lowers it at assignment)."""
        return SandboxJob(
            job_id=f"warm-{os.getpid()}-{next(_serial)}",
            model_path=self.model_dir,
            limits=ResourceLimits(
                timeout_s=float(settings.max_timeout_s),
                memory_mb=settings.warm_pool_memory_mb,
                cpus=self.cpus,
                disk_mb=self.disk_mb,
                max_result_bytes=self.max_result_bytes,
                gpu_indices=self.gpu_indices,
            ),
        )


class PoolKeyStatus(BaseModel):
    """One key's sandboxes. `model`: the model or shadow directory's name (never its host
    path), None for no model."""

    model: str | None
    gpus: tuple[int, ...]
    cpus: float
    disk_mb: int
    ready: int
    warming: int
    target: int


class PoolStatus(BaseModel):
    """A pool's state, published with its worker's heartbeat. `hits`: jobs given a ready
    sandbox; `waits`: jobs that claimed one still warming and waited for it; `misses`:
    jobs the pool could have served that started cold. Counts since the pool was made
    (they restart with the worker)."""

    keys: list[PoolKeyStatus]
    hits: int = 0
    waits: int = 0
    misses: int = 0


def pool_enabled(settings: Settings) -> bool:
    """Whether jobs go through the pool at all (else every job starts cold)."""
    return bool(settings.warm_pool_size or settings.warm_pool_gpu_size
                or settings.warm_pool_on_miss == "warm")


def without_pool(settings: Settings) -> Settings:
    """`settings` with the pool off: every job starts cold and nothing is warmed."""
    return settings.model_copy(update={"warm_pool_size": 0, "warm_pool_gpu_size": 0,
                                       "warm_pool_on_miss": "cold"})


@dataclass
class _Warming:
    """A sandbox on its way to ready. A job that finds no ready sandbox claims one of these
    rather than starting cold: its warm-up is already under way, so it is never slower."""

    done: asyncio.Future[LocalProcess | None]
    process: LocalProcess | None = None  # once bubblewrap is up
    claimed_cpus: float | None = None  # set by the job that waits for it


@dataclass
class _KeyState:
    ready: list[LocalProcess] = field(default_factory=list)
    warming: list[_Warming] = field(default_factory=list)
    last_used: float = field(default_factory=time.monotonic)
    failed_at: float | None = None


class WarmPool:
    """Warm sandboxes of one `LocalBackend`, per `PoolKey`; lives in one event loop."""

    def __init__(self, backend: LocalBackend, settings: Settings) -> None:
        self.backend = backend
        self.settings = settings
        self._keys: dict[PoolKey, _KeyState] = {}
        self._fills: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False
        self._stop = asyncio.Event()
        self.taken = 0  # jobs that got a warm sandbox (for benchmarks and tests)
        self._counts = {"hits": 0, "waits": 0, "misses": 0}

    def target(self, key: PoolKey) -> int:
        """How many ready sandboxes `key` is kept at while it is in use."""
        return self.settings.warm_pool_gpu_size if key.gpu_indices else self.settings.warm_pool_size

    def ready_count(self, key: PoolKey | None = None) -> int:
        """Ready sandboxes of `key` (of every key when None)."""
        states = [self._keys.get(key)] if key is not None else list(self._keys.values())
        return sum(len(state.ready) for state in states if state is not None)

    def keys(self) -> list[PoolKey]:
        return list(self._keys)

    def status(self) -> PoolStatus:
        """Ready and warming sandboxes per key, and the take counts."""
        keys = [
            PoolKeyStatus(model=key.model_dir.name if key.model_dir else None,
                          gpus=key.gpu_indices, cpus=key.cpus, disk_mb=key.disk_mb,
                          ready=len(state.ready), warming=len(state.warming),
                          target=self.target(key))
            for key, state in self._keys.items()
        ]
        return PoolStatus(keys=keys, **self._counts)

    async def take(self, job: SandboxJob) -> LocalProcess | None:
        """A warm sandbox already assigned `job`, or None: start it cold. Never raises for
        a warm sandbox's own failure (that job starts cold instead)."""
        key = PoolKey.of(job)
        if key is None or self._closed:
            return None
        state = self._use(key)
        process = self._pop_ready(state)
        claim = None if process is not None else self._claim_warming(state, job)
        if process is None and claim is None and self.settings.warm_pool_on_miss == "warm":
            claim = self._warming(key, state)
            self._claim(claim, job)
        self._refill(key)
        outcome = "hits" if process is not None else "waits"
        if claim is not None:
            try:
                process = await asyncio.shield(claim.done)
            except asyncio.CancelledError:
                claim.done.add_done_callback(self._discard_claimed)
                raise
        if process is None:
            self._counts["misses"] += 1
            return None
        try:
            await self.backend.assign(process, job)
        except (OSError, ConnectionError, ValueError) as exc:
            log.warning("warm sandbox for %s lost at assignment (%s): cold start", job.job_id, exc)
            await process.cleanup()
            self._counts["misses"] += 1
            return None
        self._counts[outcome] += 1
        self.taken += 1
        return process

    async def prime(self, job: SandboxJob) -> int:
        """Mark `job`'s key as used and wait until its warm sandboxes are ready (tests,
        benchmarks, a pre-warm at start-up). Returns how many are ready."""
        key = PoolKey.of(job)
        if key is None or self._closed:
            return 0
        state = self._use(key)
        self._refill(key)
        while fills := [task for task in self._fills if not task.done()]:
            await asyncio.wait(fills)
        state.last_used = time.monotonic()  # its idle time starts once it is warm
        return self.ready_count(key)

    def _use(self, key: PoolKey) -> _KeyState:
        state = self._keys.pop(key, None) or _KeyState()
        state.last_used = time.monotonic()
        self._keys[key] = state  # most recently used last
        while len(self._keys) > self.settings.warm_pool_max_keys:
            oldest = next(iter(self._keys))
            self._drop(self._keys.pop(oldest))
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_idle())
        return state

    def _pop_ready(self, state: _KeyState) -> LocalProcess | None:
        while state.ready:
            process = state.ready.pop(0)
            if process.warm_usable():
                return process
            self._discard(process)
        return None

    def _claim_warming(self, state: _KeyState, job: SandboxJob) -> _Warming | None:
        for entry in state.warming:
            if entry.claimed_cpus is None:
                self._claim(entry, job)
                return entry
        return None

    @staticmethod
    def _claim(entry: _Warming, job: SandboxJob) -> None:
        entry.claimed_cpus = job.limits.cpus
        if entry.process is not None:
            with contextlib.suppress(OSError):
                entry.process.boost(entry.claimed_cpus)

    def _warming(self, key: PoolKey, state: _KeyState) -> _Warming:
        """Start warming one sandbox of `key` in the background."""
        entry = _Warming(done=asyncio.get_running_loop().create_future())
        state.warming.append(entry)
        task = asyncio.create_task(self._fill(key, state, entry))
        self._fills.add(task)
        task.add_done_callback(self._fills.discard)
        return entry

    def _refill(self, key: PoolKey) -> None:
        state = self._keys.get(key)
        if state is None or self._closed:
            return
        if state.failed_at is not None and time.monotonic() - state.failed_at < FAILED_BACKOFF_S:
            return
        unclaimed = [entry for entry in state.warming if entry.claimed_cpus is None]
        for _ in range(self.target(key) - len(state.ready) - len(unclaimed)):
            self._warming(key, state)

    async def _fill(self, key: PoolKey, state: _KeyState, entry: _Warming) -> None:
        process = None
        try:
            process = await self._start(key, entry)
        finally:
            state.warming.remove(entry)
            entry.done.set_result(process)
        if process is None:
            state.failed_at = time.monotonic()
            return
        state.failed_at = None
        if entry.claimed_cpus is not None:
            return  # the job that claimed it takes it from `entry.done`
        if self._closed or self._keys.get(key) is not state:
            await process.cleanup()  # the key went idle (or the pool closed) meanwhile
            return
        state.ready.append(process)

    async def _start(self, key: PoolKey, entry: _Warming) -> LocalProcess | None:
        """Start one warm sandbox and wait until it is ready; None when it could not."""
        where = key.model_dir or "no model"
        try:
            process = await self.backend.start(key.template(self.settings), warm=True)
        except Exception as exc:
            log.warning("warm sandbox for %s did not start: %s", where, exc)
            return None
        entry.process = process
        if entry.claimed_cpus is not None:
            with contextlib.suppress(OSError):
                process.boost(entry.claimed_cpus)
        try:
            timeout_s = self.settings.warm_pool_start_timeout_s
            await process.until_ready(WARM_READY.encode(), timeout_s, self._stop)
        except BaseException as exc:
            await process.cleanup()
            if not isinstance(exc, Exception):
                raise
            log.warning("warm sandbox for %s was not ready: %s", where, exc)
            return None
        return process

    def _discard_claimed(self, done: asyncio.Future[LocalProcess | None]) -> None:
        """A claimed sandbox whose job went away while it warmed: destroy it once ready."""
        process = None if done.cancelled() else done.result()
        if process is not None:
            self._discard(process)

    def _discard(self, process: LocalProcess) -> None:
        task = asyncio.create_task(process.cleanup())
        self._fills.add(task)
        task.add_done_callback(self._fills.discard)

    def _drop(self, state: _KeyState) -> None:
        ready, state.ready = state.ready, []
        for process in ready:
            self._discard(process)

    async def _reap_idle(self) -> None:
        """Drop the sandboxes of keys idle for `warm_pool_idle_s`; ends with the last key."""
        idle_s = self.settings.warm_pool_idle_s
        while self._keys and not self._closed:
            await asyncio.sleep(min(REAP_INTERVAL_MAX_S, idle_s / 4))
            now = time.monotonic()
            for key, state in list(self._keys.items()):
                if not state.warming and now - state.last_used >= idle_s:
                    log.info("warm pool: %s idle, its sandboxes go", key.model_dir or "no model")
                    self._drop(self._keys.pop(key))

    async def close(self) -> None:
        """Destroy every warm sandbox; sandboxes still warming are destroyed once up."""
        self._closed = True
        self._stop.set()
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for state in self._keys.values():
            self._drop(state)
        self._keys.clear()
        while pending := [task for task in self._fills if not task.done()]:
            await asyncio.wait(pending)
