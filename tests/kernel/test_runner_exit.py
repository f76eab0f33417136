"""A worker whose loop ends by itself ends its process (non-zero) for a supervisor to
restart, instead of living on with a heartbeat that says alive and takes no jobs."""

from __future__ import annotations

import asyncio

import pytest

from evalpod.runner import run_components, worker_component


class EndsAtOnce:
    """A worker whose loop returns (as arq's did on the first Redis error)."""

    closed = False

    async def async_run(self) -> None:
        return None

    async def close(self) -> None:
        EndsAtOnce.closed = True


async def test_a_worker_loop_that_ends_fails_its_component() -> None:
    with pytest.raises(RuntimeError, match="ended on its own"):
        await worker_component(EndsAtOnce)(asyncio.Event())
    assert EndsAtOnce.closed


async def test_the_process_exits_non_zero_and_stops_the_other_components() -> None:
    stopped = asyncio.Event()

    async def lives_until_stopped(stop: asyncio.Event) -> None:
        await stop.wait()
        stopped.set()

    with pytest.raises(SystemExit) as exit_info:
        await run_components([worker_component(EndsAtOnce), lives_until_stopped])
    assert exit_info.value.code == 1 and stopped.is_set()


async def test_a_stop_that_was_asked_for_exits_cleanly() -> None:
    async def stops_everything(stop: asyncio.Event) -> None:
        stop.set()

    await asyncio.wait_for(run_components([stops_everything]), 30)
