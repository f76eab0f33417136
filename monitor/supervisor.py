"""Watches one launched sandbox to the end: output, limits, timeout, cancel, kill, result."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from evalpod.display import neutralise
from evalpod.logs.progress import MARKER as PROGRESS_MARKER
from monitor.limits import OutputMeter, TailBuffer, usage_violation
from orchestrator.sandbox import (
    GUARD_RECORD_LOST_EXIT,
    MODEL_LOADED_MARK,
    LineSink,
    ResultRejected,
    SandboxError,
    SandboxOutcome,
    SandboxProcess,
    Violation,
    ViolationKind,
)

POLL_INTERVAL_S = 0.05
DRAIN_TIMEOUT_S = 2.0


@dataclass
class _Watch:
    """What the supervisor learned while the job ran."""

    started: float = field(default_factory=time.monotonic)
    launched: float | None = None  # before the backend's launch; `started` when not given
    loaded: float | None = None  # when the harness's MODEL_LOADED_MARK line came
    violation: Violation | None = None
    cancelled: bool = False
    exit_code: int | None = None
    tail: TailBuffer = field(default_factory=TailBuffer)


async def _pump(process: SandboxProcess, on_line: LineSink, watch: _Watch) -> Violation | None:
    """Forward every line; return an `output` violation as soon as a cap is crossed."""
    limits = process.job.limits
    meter = OutputMeter(limits.max_output_bytes, limits.max_output_lines_per_s)
    async for line in process.output_lines():
        if not line.startswith(PROGRESS_MARKER):  # a tail of progress reports tells nothing
            watch.tail.add(line)
        if watch.loaded is None and line.startswith(MODEL_LOADED_MARK):
            watch.loaded = time.monotonic()
        breach = meter.add(line)
        if breach is not None:
            return Violation(kind=ViolationKind.output, detail=breach)
        await on_line(line)
    return None


async def _check_limits(process: SandboxProcess, watch: _Watch) -> Violation | None:
    limits = process.job.limits
    if time.monotonic() - watch.started > limits.timeout_s:
        return Violation(kind=ViolationKind.timeout, detail=f"ran past {limits.timeout_s:g} s")
    return usage_violation(await process.usage(), limits) or await process.observed_violation()


async def _watch_until_exit(
    process: SandboxProcess,
    pump: asyncio.Task[Violation | None],
    cancel: asyncio.Event,
    watch: _Watch,
) -> None:
    waiter = asyncio.ensure_future(process.wait())
    cancelled = asyncio.ensure_future(cancel.wait())
    try:
        while True:
            await asyncio.wait(
                {waiter, pump, cancelled},
                timeout=POLL_INTERVAL_S,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if cancel.is_set():
                watch.cancelled = True
            elif pump.done() and pump.result() is not None:
                watch.violation = pump.result()
            elif not waiter.done():
                watch.violation = await _check_limits(process, watch)
            if watch.cancelled or watch.violation is not None or waiter.done():
                return
    finally:
        cancelled.cancel()
        if not waiter.done():
            waiter.cancel()


async def _drain(pump: asyncio.Task[Violation | None]) -> Violation | None:
    """Let the last lines through; daemons holding the pipe are already dead by now."""
    try:
        return await asyncio.wait_for(asyncio.shield(pump), DRAIN_TIMEOUT_S)
    except TimeoutError:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        return None


async def _guard_violation(process: SandboxProcess) -> Violation | None:
    try:
        result = await process.collect_result()
    except SandboxError:
        return None
    return result.violation.violation() if result.violation is not None else None


async def _outcome(process: SandboxProcess, watch: _Watch) -> SandboxOutcome:
    script_from = watch.loaded if watch.loaded is not None else watch.started
    launched = watch.launched if watch.launched is not None else watch.started
    base = SandboxOutcome(
        status="failed",
        exit_code=watch.exit_code,
        duration_s=round(time.monotonic() - script_from, 3),
        startup_s=None if watch.loaded is None else round(watch.loaded - launched, 3),
        stdout_tail=neutralise(watch.tail.text()),
    )
    if watch.cancelled:
        return base.model_copy(update={"status": "cancelled"})
    violation = watch.violation or await process.observed_violation()
    if violation is not None:
        # A runtime guard denial is the cause; a limit hit afterwards (a script that
        # caught the denial and spun) must not hide it.
        violation = await _guard_violation(process) or violation
        return base.model_copy(update={"status": "killed", "violation": violation})
    # The harness found its guard record changed by something other than the guard (exit
    # GUARD_RECORD_LOST_EXIT): a denial may have been erased, so no result file, forged or
    # not, can clear the job; a record that still says what was done to it is more precise.
    lost = Violation(kind=ViolationKind.policy, detail="runtime guard record tampered with")
    record_lost = watch.exit_code == GUARD_RECORD_LOST_EXIT
    try:
        result = await process.collect_result()
    except ResultRejected as exc:
        if record_lost:
            return base.model_copy(update={"status": "killed", "violation": lost})
        error = f"exit code {watch.exit_code}" if watch.exit_code else str(exc)
        return base.model_copy(update={"error": error})
    if result.violation is not None:
        # The runtime guard denied an operation: killed, whatever the script did next.
        return base.model_copy(update={
            "status": "killed", "violation": result.violation.violation(), "error": result.error})
    if record_lost:
        return base.model_copy(update={"status": "killed", "violation": lost})
    if watch.exit_code == 0 and result.ok:
        return base.model_copy(update={"status": "succeeded", "result": result.metrics or {}})
    return base.model_copy(update={"error": result.error or f"exit code {watch.exit_code}"})


async def supervise(
    process: SandboxProcess, on_line: LineSink, cancel: asyncio.Event,
    *, launched_at: float | None = None,
) -> SandboxOutcome:
    """Run the job to its end and say how it ended; kills on any breach or cancel.

    `launched_at` (`time.monotonic()` before the backend's launch) starts the outcome's
    `startup_s`; its `duration_s` counts from the harness's model-loaded line."""
    watch = _Watch(launched=launched_at)
    pump = asyncio.create_task(_pump(process, on_line, watch))
    try:
        await _watch_until_exit(process, pump, cancel, watch)
        # Always kill: on exit this reaps double-forked daemons still in the cgroup.
        await process.kill()
        watch.exit_code = await process.wait()
        late = await _drain(pump)
        watch.violation = watch.violation or (None if watch.cancelled else late)
    finally:
        if not pump.done():
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
    return await _outcome(process, watch)
