"""duration_s is the script's own time, cold or warm; start-up is reported apart.

The new user's trial printed "trial run succeeded after 37.90 s" under a 20 s cap: a cold
sandbox counted its 21.9 s start-up in duration_s, a warm one (start-up done before the
job) did not. Now duration_s counts from the harness's model-loaded line, as the trial cap
does, and startup_s is launch to that line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from monitor.logs import end_note
from orchestrator.sandbox import (
    MODEL_LOADED_MARK,
    BackendHealth,
    HarnessResult,
    LineSink,
    ResourceLimits,
    ResourceUsage,
    SandboxBackend,
    SandboxJob,
    SandboxProcess,
    Violation,
)

TICK_S = 0.2


class _Process(SandboxProcess):
    """Start-up of `startup_ticks`, then the model-loaded line, then `script_ticks`."""

    def __init__(self, job: SandboxJob, startup_ticks: int, script_ticks: int,
                 mark: bool) -> None:
        self.job = job
        self.startup_ticks, self.script_ticks, self.mark = startup_ticks, script_ticks, mark
        self.done = asyncio.Event()

    async def output_lines(self) -> AsyncIterator[str]:
        await asyncio.sleep(self.startup_ticks * TICK_S)
        if self.mark:
            yield f"{MODEL_LOADED_MARK} on cpu"
        await asyncio.sleep(self.script_ticks * TICK_S)
        yield "done"
        self.done.set()

    async def wait(self) -> int | None:
        await self.done.wait()
        return 0

    async def kill(self) -> None:
        self.done.set()

    async def usage(self) -> ResourceUsage:
        return ResourceUsage()

    async def observed_violation(self) -> Violation | None:
        return None

    async def collect_result(self) -> HarnessResult:
        return HarnessResult(ok=True, metrics={"x": 1.0})

    async def cleanup(self) -> None:
        return None


class _Backend(SandboxBackend):
    """A cold launch spends `launch_ticks` before the process exists (a warm one: 0)."""

    name = "fake"

    def __init__(self, launch_ticks: int, startup_ticks: int, script_ticks: int,
                 mark: bool = True) -> None:
        self.launch_ticks, self.startup_ticks = launch_ticks, startup_ticks
        self.script_ticks, self.mark = script_ticks, mark

    async def launch(self, job: SandboxJob) -> SandboxProcess:
        await asyncio.sleep(self.launch_ticks * TICK_S)
        return _Process(job, self.startup_ticks, self.script_ticks, self.mark)

    async def health(self) -> BackendHealth:  # pragma: no cover - unused
        raise NotImplementedError


async def _ignore(line: str) -> None:
    return None


def _job() -> SandboxJob:
    return SandboxJob(job_id="clock", script="x",
                      limits=ResourceLimits(timeout_s=60, memory_mb=256))


@pytest.mark.parametrize(("launch", "startup"), [(0, 0), (3, 3), (0, 6)],
                         ids=["warm", "cold", "slow-load"])
async def test_duration_is_the_scripts_own_time(launch: int, startup: int) -> None:
    # Orders, not timings: the script's 1 tick against a start-up of 0 or 6 ticks.
    sink: LineSink = _ignore
    outcome = await _Backend(launch, startup, script_ticks=1).run(_job(), sink)
    assert outcome.status == "succeeded"
    assert outcome.duration_s >= TICK_S - 0.05
    assert outcome.startup_s is not None
    assert outcome.startup_s >= (launch + startup) * TICK_S - 0.05
    if launch + startup:
        assert outcome.duration_s < outcome.startup_s


async def test_no_model_loaded_line_counts_the_whole_job() -> None:
    outcome = await _Backend(0, 1, 1, mark=False).run(_job(), _ignore)
    assert outcome.startup_s is None
    assert outcome.duration_s >= 2 * TICK_S - 0.05


@pytest.mark.parametrize(("startup", "expected"), [
    (21.887, "trial run succeeded after 12.10 s (sandbox start 21.9 s)"),
    (0.4, "trial run succeeded after 12.10 s"),
    (None, "trial run succeeded after 12.10 s"),
])
def test_end_note_names_a_long_start_up_apart(startup: float | None, expected: str) -> None:
    assert end_note("trial", "succeeded", 12.1, None, startup) == expected


def test_end_note_keeps_the_failure_detail_last() -> None:
    kw: dict[str, Any] = {"startup_s": 3.0}
    assert end_note("run", "killed", 3.02, "timeout: ran past 3 s", **kw) == (
        "run killed after 3.02 s (sandbox start 3.0 s): timeout: ran past 3 s")
