"""The trial run: the script in the real sandbox against the stub model, short and tight."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from evalpod.settings import Settings
from orchestrator.sandbox import (
    LineSink,
    ResourceLimits,
    SandboxBackend,
    SandboxJob,
    SandboxOutcome,
    SandboxUnavailable,
)
from validator.findings import Finding

MAX_LOG_CHARS = 64 * 1024


class TrialReport(BaseModel):
    passed: bool
    status: str
    duration_s: float
    violation: dict[str, str] | None = None
    error: str | None = None
    log: str = ""


class _CappedLog:
    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit

    async def write(self, line: str) -> None:
        if self.size < self.limit:
            self.parts.append(line)
            self.size += len(line) + 1

    def text(self) -> str:
        return "\n".join(self.parts)[: self.limit]


def trial_job(evaluation_id: str, script: str, settings: Settings) -> SandboxJob:
    return SandboxJob(
        job_id=f"{evaluation_id}-trial",
        kind="script",
        script=script,
        model_id="stub",
        model_path=None,
        limits=ResourceLimits(
            timeout_s=settings.trial_timeout_s,
            memory_mb=settings.trial_memory_mb,
            cpus=1.0,
            max_processes=64,
            disk_mb=64,
            max_output_bytes=1024 * 1024,
        ),
    )


async def run_trial(
    backend: SandboxBackend, evaluation_id: str, script: str, settings: Settings,
    cancel: asyncio.Event | None = None, *, on_line: LineSink | None = None,
) -> TrialReport:
    """Each output line also goes to `on_line` (the evaluation's log). Raises
    `SandboxUnavailable` when the sandbox cannot run at all (retry, don't reject)."""
    log = _CappedLog(MAX_LOG_CHARS)

    async def sink(line: str) -> None:
        await log.write(line)
        if on_line is not None:
            await on_line(line)

    outcome: SandboxOutcome = await backend.run(trial_job(evaluation_id, script, settings),
                                                sink, cancel)
    return TrialReport(
        passed=outcome.status == "succeeded",
        status=outcome.status,
        duration_s=outcome.duration_s,
        violation=outcome.violation.model_dump(mode="json") if outcome.violation else None,
        error=outcome.error,
        log=log.text(),
    )


def trial_findings(report: TrialReport) -> list[Finding]:
    if report.passed:
        return []
    if report.violation:
        return [Finding(
            rule=f"TRIAL-{report.violation['kind'].upper()}",
            message=f"the trial run was killed: {report.violation['detail']}",
            hint="The sandbox stopped the script; see the validation log.",
        )]
    return [Finding(
        rule="TRIAL-FAILED",
        message=f"the trial run against the stub model failed: {report.error or report.status}",
        hint="evaluate_model(model) must run and return a JSON-serialisable dict; "
             "see the validation log for the traceback.",
    )]


__all__ = ["SandboxUnavailable", "TrialReport", "run_trial", "trial_findings"]
