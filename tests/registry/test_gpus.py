"""The GPU allocator under concurrent jobs: exact counts, no oversharing, priority, no leaks."""

from __future__ import annotations

import asyncio
import random
import stat
from pathlib import Path

import pytest

from evalpod.settings import Settings
from orchestrator.gpus import (
    GpuAllocator,
    GpuRequestTooLarge,
    GpuWaitStopped,
    detect_gpus,
    host_gpu_count,
)


class Ledger:
    """Who holds which device right now; fails the test on any double assignment."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held: dict[int, str] = {}
        self.peak = 0

    def take(self, job: str, devices: tuple[int, ...]) -> None:
        for device in devices:
            assert device not in self.held, f"{device} given to {job} while {self.held[device]}"
            self.held[device] = job
        assert len(self.held) <= self.capacity
        self.peak = max(self.peak, len(self.held))

    def give(self, devices: tuple[int, ...]) -> None:
        for device in devices:
            del self.held[device]


async def test_concurrent_mixed_jobs_get_exact_counts_and_never_share() -> None:
    devices = [0, 1, 2, 3]
    allocator = GpuAllocator(devices)
    ledger = Ledger(len(devices))
    rng = random.Random(7)

    async def job(name: str, count: int, priority: int) -> None:
        async with allocator.acquire(count, priority) as granted:
            assert len(granted) == count and set(granted) <= set(devices)
            ledger.take(name, granted)
            await asyncio.sleep(rng.uniform(0, 0.01))
            ledger.give(granted)

    await asyncio.gather(*(job(f"j{i}", rng.choice([0, 1, 1, 2, 3, 4]), rng.randint(-2, 2))
                           for i in range(200)))
    assert allocator.free == 4 and allocator.waiting == 0
    assert ledger.peak == 4


async def test_higher_priority_waiter_is_served_first_fifo_within_priority() -> None:
    allocator = GpuAllocator([0, 1])
    order: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with allocator.acquire(2):
            await release.wait()

    async def job(name: str, count: int, priority: int) -> None:
        async with allocator.acquire(count, priority):
            order.append(name)
            await asyncio.sleep(0)

    blocker = asyncio.create_task(holder())
    await asyncio.sleep(0)
    jobs = []
    for name, count, priority in [("low-a", 1, 0), ("high-a", 2, 5), ("low-b", 1, 0),
                                  ("mid", 1, 3), ("high-b", 1, 5)]:
        jobs.append(asyncio.create_task(job(name, count, priority)))
        await asyncio.sleep(0)
    assert allocator.waiting == 5
    release.set()
    await asyncio.gather(blocker, *jobs)
    assert order == ["high-a", "high-b", "mid", "low-a", "low-b"]


async def test_small_job_does_not_overtake_a_waiting_larger_one() -> None:
    allocator = GpuAllocator([0, 1])
    async with allocator.acquire(1) as first:
        big = asyncio.create_task(_hold(allocator, 2))
        await asyncio.sleep(0)
        small = asyncio.create_task(_hold(allocator, 1))
        await asyncio.sleep(0.01)
        # One device is free, but the 2-GPU job is ahead in line.
        assert not small.done() and not big.done() and allocator.free == 1
        assert first == (0,)
    assert await big == (0, 1)
    assert await small == (0,)


async def _hold(allocator: GpuAllocator, count: int, priority: int = 0) -> tuple[int, ...]:
    async with allocator.acquire(count, priority) as granted:
        await asyncio.sleep(0.001)
        return granted


async def test_cancelled_waiters_never_leak_slots() -> None:
    allocator = GpuAllocator([0, 1, 2])
    async with allocator.acquire(3):
        waiters = [asyncio.create_task(_hold(allocator, n)) for n in (1, 2, 3, 1)]
        await asyncio.sleep(0)
        assert allocator.waiting == 4
        for task in waiters[:3]:
            task.cancel()
        await asyncio.sleep(0)
    assert await waiters[3] == (0,)
    for task in waiters[:3]:
        assert task.cancelled()
    assert allocator.free == 3 and allocator.waiting == 0


async def test_cancel_racing_a_grant_gives_the_devices_back() -> None:
    allocator = GpuAllocator([0, 1])
    holder = allocator.acquire(2)
    await holder.__aenter__()
    waiter = asyncio.create_task(_hold(allocator, 2))
    await asyncio.sleep(0)
    # Grant and cancel in the same loop turn: the waiter wakes up cancelled but owning GPUs.
    await holder.__aexit__(None, None, None)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert allocator.free == 2
    assert await _hold(allocator, 2) == (0, 1)


async def test_cancelled_head_unblocks_the_jobs_behind_it() -> None:
    allocator = GpuAllocator([0, 1])
    async with allocator.acquire(1):
        big = asyncio.create_task(_hold(allocator, 2, priority=9))
        await asyncio.sleep(0)
        small = asyncio.create_task(_hold(allocator, 1))
        await asyncio.sleep(0)
        assert not small.done()
        big.cancel()
        assert await asyncio.wait_for(small, 1) == (1,)


async def test_impossible_and_zero_requests() -> None:
    allocator = GpuAllocator([0])
    with pytest.raises(GpuRequestTooLarge):
        async with allocator.acquire(2):
            pass
    async with allocator.acquire(1), allocator.acquire(0) as none:
        assert none == ()
    assert GpuAllocator([]).capacity == 0


def test_detection_prefers_the_setting_then_nvidia_smi(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert detect_gpus(Settings(gpu_devices="3, 1,0")) == [3, 1, 0]
    assert host_gpu_count(Settings(gpu_devices="")) == 0
    with pytest.raises(ValueError, match="index"):
        detect_gpus(Settings(gpu_devices="0,gpu1"))
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_gpus(Settings(gpu_devices=None)) == [0, 1]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert host_gpu_count(Settings(gpu_devices=None)) == 0


async def test_a_stop_event_ends_the_wait_without_taking_devices() -> None:
    allocator = GpuAllocator([0])
    stop = asyncio.Event()
    async with allocator.acquire(1):
        waiting = asyncio.create_task(_hold_until_stopped(allocator, stop))
        await asyncio.sleep(0)
        assert allocator.waiting == 1
        stop.set()
        with pytest.raises(GpuWaitStopped):
            await waiting
        assert allocator.waiting == 0
    assert allocator.free == 1
    async with allocator.acquire(1, stop=asyncio.Event()) as granted:
        assert granted == (0,)


async def _hold_until_stopped(allocator: GpuAllocator, stop: asyncio.Event) -> None:
    async with allocator.acquire(1, stop=stop):
        raise AssertionError("granted although the only GPU is held")
