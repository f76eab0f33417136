"""GPU detection and a priority-ordered, cancellation-safe allocator of whole devices."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from evalpod.settings import Settings

log = logging.getLogger("evalpod.gpus")
NVIDIA_SMI_TIMEOUT_S = 10.0


class GpuRequestTooLarge(ValueError):
    """A job asked for more GPUs than this host has: it could never be served."""


def parse_devices(text: str) -> list[int]:
    """'0, 1,3' → [0, 1, 3]; an empty string means no GPUs."""
    devices = []
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        if not item.isdigit():
            raise ValueError(f"GPU device {item!r} is not an index (EVALPOD_GPU_DEVICES)")
        devices.append(int(item))
    if len(set(devices)) != len(devices):
        raise ValueError("a GPU index is listed twice (EVALPOD_GPU_DEVICES)")
    return devices


def _nvidia_smi_devices() -> list[int]:
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return []
    try:
        output = subprocess.run(
            [binary, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=True,
        ).stdout
        return parse_devices(output.replace("\n", ","))
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        log.warning("nvidia-smi found but unusable, assuming no GPUs: %s", exc)
        return []


def detect_gpus(settings: Settings) -> list[int]:
    """`gpu_devices` when set (even empty), else nvidia-smi's indices, else none."""
    if settings.gpu_devices is not None:
        return parse_devices(settings.gpu_devices)
    return _nvidia_smi_devices()


def host_gpu_count(settings: Settings) -> int:
    return len(detect_gpus(settings))


class GpuWaitStopped(Exception):
    """The caller's stop event (e.g. a cancel) was set while the job waited for GPUs."""


async def _granted_or_stopped(grant: asyncio.Future[tuple[int, ...]],
                              stop: asyncio.Event | None) -> None:
    if stop is None:
        await grant
        return
    stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    pending: set[asyncio.Future[Any]] = {grant, stopper}
    try:
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not grant.done():
        raise GpuWaitStopped("stopped while waiting for GPUs")


@dataclass(order=True)
class _Waiter:
    key: tuple[int, int]
    count: int = field(compare=False)
    grant: asyncio.Future[tuple[int, ...]] = field(compare=False)


class GpuAllocator:
    """Hands out whole GPUs: exactly the number asked, never one device to two jobs.

    Waiters are served strictly in order (higher priority first, FIFO within a
    priority); a smaller job never overtakes a waiting larger one of equal or higher
    priority, so big jobs cannot starve. Zero-GPU requests never wait.
    """

    def __init__(self, devices: Iterable[int]) -> None:
        self._all = tuple(sorted(set(devices)))
        self._free: set[int] = set(self._all)
        self._waiting: list[_Waiter] = []
        self._sequence = itertools.count()

    @property
    def capacity(self) -> int:
        return len(self._all)

    @property
    def free(self) -> int:
        return len(self._free)

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiting if not w.grant.done())

    @asynccontextmanager
    async def acquire(
        self, count: int, priority: int = 0, *, stop: asyncio.Event | None = None
    ) -> AsyncIterator[tuple[int, ...]]:
        """Wait for `count` GPUs; yield their indices; give them back on exit, always.

        Raises `GpuRequestTooLarge` at once when `count` exceeds the host's GPUs, and
        `GpuWaitStopped` when `stop` is set before the GPUs were granted.
        """
        devices = await self._take(count, priority, stop)
        try:
            yield devices
        finally:
            self._release(devices)

    async def _take(self, count: int, priority: int, stop: asyncio.Event | None
                    ) -> tuple[int, ...]:
        if count < 0:
            raise ValueError("GPU count must be >= 0")
        if count == 0:
            return ()
        if count > self.capacity:
            raise GpuRequestTooLarge(f"asked for {count} GPUs; this host has {self.capacity}")
        waiter = _Waiter((-priority, next(self._sequence)), count,
                         asyncio.get_running_loop().create_future())
        bisect.insort(self._waiting, waiter)
        self._dispatch()
        try:
            await _granted_or_stopped(waiter.grant, stop)
        except BaseException:
            self._abandon(waiter)
            raise
        return waiter.grant.result()

    def _abandon(self, waiter: _Waiter) -> None:
        # The grant may have been made just before the cancel landed: give it back.
        if waiter.grant.done() and not waiter.grant.cancelled():
            self._release(waiter.grant.result())
        elif waiter in self._waiting:
            self._waiting.remove(waiter)
            waiter.grant.cancel()
        self._dispatch()

    def _release(self, devices: tuple[int, ...]) -> None:
        self._free.update(devices)
        self._dispatch()

    def _dispatch(self) -> None:
        while self._waiting:
            head = self._waiting[0]
            if head.grant.done():
                self._waiting.pop(0)
                continue
            if head.count > len(self._free):
                return
            self._waiting.pop(0)
            granted = tuple(sorted(self._free)[: head.count])
            self._free.difference_update(granted)
            head.grant.set_result(granted)
