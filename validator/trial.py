"""The trial run: the script in the real sandbox on its model's shadow, short and tight.

The shadow (`evalpod.shadow`) has the model's architecture class and tokenizer files with a
scaled-down configuration and random weights, and is loaded by the harness through the same
`from_pretrained` path as the real run: every attribute and transformers call a script uses
behaves as in the real run, while the real weights never enter a trial.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from evalpod.db import Database
from evalpod.orm import Model
from evalpod.settings import Settings
from evalpod.shadow import ShadowBuildError, ensure_shadow
from orchestrator.sandbox import (
    MODEL_LOADED_MARK,  # the script's own cap starts at this line
    LineSink,
    ResourceLimits,
    SandboxBackend,
    SandboxJob,
    SandboxOutcome,
    SandboxUnavailable,
)
from validator.findings import Finding

MAX_LOG_CHARS = 64 * 1024
# TrialReport.status when no trial could run because the model has no usable shadow.
NO_TRIAL_MODEL = "no_trial_model"


class TrialReport(BaseModel):
    passed: bool
    status: str
    duration_s: float  # the script's own time, from the model loaded: what the cap counts
    violation: dict[str, Any] | None = None
    error: str | None = None
    startup_s: float | None = None  # launch to the model loaded (None: it never loaded)
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


class TrialModel(BaseModel):
    """The model a trial runs on: the shadow of the evaluation's model."""

    model_id: str
    shadow_path: Path


async def trial_model(db: Database, settings: Settings, model_id: str) -> TrialModel:
    """The shadow of registered model `model_id`, built first if missing or stale.

    Raises `ShadowBuildError` when the model is not registered or cannot be shadowed.
    """
    async with db.session() as session:
        model = await session.get(Model, model_id)
        if model is None:
            raise ShadowBuildError(f"model {model_id!r} is not registered")
        source, checksum = Path(model.storage_path), model.checksum
    path = await ensure_shadow(settings, model_id, source, checksum)
    return TrialModel(model_id=model_id, shadow_path=path)


def script_cap_s(settings: Settings, job_timeout_s: float | None) -> float:
    """Seconds the trial gives the script: `trial_timeout_s`, or the job's own `timeout_s`
    when that is shorter (a trial never allows more than the real run would)."""
    if job_timeout_s is None or job_timeout_s <= 0:
        return float(settings.trial_timeout_s)
    return float(min(settings.trial_timeout_s, job_timeout_s))


def trial_job(
    evaluation_id: str, script: str, settings: Settings, model: TrialModel | None = None,
    *, tenant_id: str | None = None, fair_share: float | None = None,
    job_timeout_s: float | None = None,
) -> SandboxJob:
    """The sandbox job of a trial: `settings.trial_memory_mb`, one CPU, 64 MiB of work dir,
    1 MiB of output, and a wall limit of `trial_startup_s` + the script's cap with a model
    (`run_trial` stops the script itself that cap after the model loaded), or the cap
    without; the cap is `script_cap_s` (`trial_timeout_s`, or the job's shorter timeout).

    `model` None runs with no model (the torch-free stub): only benchmarks of the sandbox
    itself do that; the validator always passes the evaluation's shadow.
    """
    return SandboxJob(
        job_id=f"{evaluation_id}-trial",
        kind="script",
        tenant_id=tenant_id,
        fair_share=fair_share,
        script=script,
        model_id=model.model_id if model else "stub",
        model_path=model.shadow_path if model else None,
        shadow=model is not None,
        limits=ResourceLimits(
            timeout_s=script_cap_s(settings, job_timeout_s)
            + (settings.trial_startup_s if model else 0),
            memory_mb=settings.trial_memory_mb,
            cpus=1.0,
            max_processes=64,
            disk_mb=64,
            max_output_bytes=1024 * 1024,
        ),
    )


async def run_trial(
    backend: SandboxBackend, evaluation_id: str, script: str, settings: Settings,
    cancel: asyncio.Event | None = None, *, model_id: str | None = None,
    db: Database | None = None, on_line: LineSink | None = None,
    tenant_id: str | None = None, fair_share: float | None = None,
    job_timeout_s: float | None = None,
) -> TrialReport:
    """Run `script` on the shadow of `model_id` (looked up in `db`), or with no model when
    `model_id` is None. A model without a usable shadow gives a failed report with status
    `NO_TRIAL_MODEL`. Each output line also goes to `on_line` (the evaluation's log).
    The script gets `script_cap_s(settings, job_timeout_s)` seconds: the evaluation's own
    `config.timeout_s` when it is below `trial_timeout_s`.
    Raises `SandboxUnavailable` when the sandbox cannot run at all (retry, don't reject)."""
    model = None
    if model_id is not None:
        if db is None:
            raise ValueError("run_trial needs the database to find the model's shadow")
        try:
            model = await trial_model(db, settings, model_id)
        except ShadowBuildError as exc:
            return TrialReport(passed=False, status=NO_TRIAL_MODEL, duration_s=0.0,
                               error=str(exc))
    log = _CappedLog(MAX_LOG_CHARS)
    clock = _ScriptClock(settings, cancel, timed=model is not None,
                         cap_s=script_cap_s(settings, job_timeout_s))

    async def sink(line: str) -> None:
        clock.see(line)
        await log.write(line)
        if on_line is not None:
            await on_line(line)

    try:
        outcome: SandboxOutcome = await backend.run(
            trial_job(evaluation_id, script, settings, model, tenant_id=tenant_id,
                      fair_share=fair_share, job_timeout_s=job_timeout_s), sink, clock.stop)
    finally:
        clock.close()
    violation = outcome.violation.model_dump(mode="json") if outcome.violation else None
    status: str = outcome.status
    if clock.expired and status == "cancelled" and not (cancel and cancel.is_set()):
        status, violation = "killed", clock.violation()
    elif violation and violation["kind"] == "timeout" and model is not None:
        violation = clock.startup_violation(violation)
    return TrialReport(
        passed=status == "succeeded",
        status=status,
        duration_s=outcome.duration_s,
        violation=violation,
        error=outcome.error,
        startup_s=None if clock.loaded_after_s is None else round(clock.loaded_after_s, 3),
        log=log.text(),
    )


class _ScriptClock:
    """The trial's cap on the script alone: `cap_s` (`script_cap_s`) from the harness's
    MODEL_LOADED_MARK line, so a busy host's slow start-up is not held against the script.

    `stop` is what the backend watches: set by the caller's `cancel` or by the deadline.
    """

    def __init__(self, settings: Settings, cancel: asyncio.Event | None, timed: bool,
                 cap_s: float) -> None:
        self.settings = settings
        self.cap_s = cap_s
        self.stop = asyncio.Event()
        self.expired = False
        self.loaded_after_s: float | None = None
        self._started = asyncio.get_running_loop().time()
        self._tasks: list[asyncio.Task[None]] = []
        if cancel is not None:
            self._tasks.append(asyncio.create_task(self._relay(cancel)))
        self._timed = timed

    async def _relay(self, cancel: asyncio.Event) -> None:
        await cancel.wait()
        self.stop.set()

    async def _deadline(self) -> None:
        await asyncio.sleep(self.cap_s)
        self.expired = True
        self.stop.set()

    def see(self, line: str) -> None:
        if self._timed and self.loaded_after_s is None and line.startswith(MODEL_LOADED_MARK):
            self.loaded_after_s = asyncio.get_running_loop().time() - self._started
            self._tasks.append(asyncio.create_task(self._deadline()))

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()

    def violation(self) -> dict[str, Any]:
        loaded = f"{self.loaded_after_s:.1f}" if self.loaded_after_s is not None else "?"
        return {"kind": "timeout",
                "detail": f"the script ran past the trial's cap of {self.cap_s:g} s "
                          f"({self.cap_source()}; the model had loaded after {loaded} s)"}

    def cap_source(self) -> str:
        """Where the cap comes from, for the kill message."""
        if self.cap_s < self.settings.trial_timeout_s:
            return (f"the evaluation's timeout_s, below EVALPOD_TRIAL_TIMEOUT_S = "
                    f"{self.settings.trial_timeout_s} s")
        return f"EVALPOD_TRIAL_TIMEOUT_S = {self.settings.trial_timeout_s} s"

    def startup_violation(self, violation: dict[str, Any]) -> dict[str, Any]:
        """The sandbox's own wall limit hit: before the model loaded, say so."""
        if self.loaded_after_s is not None:
            return violation
        limit = f"{self.settings.trial_startup_s + self.cap_s:g}"
        return {"kind": "timeout",
                "detail": f"the trial's model did not load within {limit} s (a busy host?)"}


def _guard_finding(violation: dict[str, Any]) -> Finding:
    """The runtime guard denied an operation during the trial: name it and its line."""
    line = violation.get("line")
    target = violation.get("target")
    what = f"{violation['detail']}" + (f" ({target})" if target else "")
    where = f" at line {line}" if isinstance(line, int) else ""
    return Finding(
        rule="TRIAL-POLICY",
        message=f"the runtime guard stopped the trial run: {what}{where}",
        hint="Scripts run without processes, network, native code, frame or code "
             "introspection, and read only the model, data and their own work directory "
             "(see docs/scripts.md, 'The runtime guard').",
        line=line if isinstance(line, int) else None,
    )


# The message names the limit passed and its value (`monitor.limits.OutputMeter`).
OUTPUT_HINT = ("Print less: a summary rather than a line per example, and return metrics "
               "instead of printing them; what was printed is the trial part of "
               "`evalpod logs ID`.")


def trial_findings(report: TrialReport) -> list[Finding]:
    if report.passed:
        return []
    if report.violation and report.violation["kind"] == "timeout":
        return [Finding(
            rule="TRIAL-TIMEOUT",
            message=f"the trial run was stopped: {report.violation['detail']}",
            hint="The trial runs evaluate_model once on the model's shadow (tiny random "
                 "weights, one CPU) with a short cap on the script, counted once the model "
                 "is loaded (EVALPOD_TRIAL_TIMEOUT_S, 20 s by default, or the evaluation's "
                 "timeout_s when that is shorter); its output is the "
                 "trial part of `evalpod logs ID`. Bound the work a script does regardless "
                 "of the model (see docs/scripts.md, 'Validation trial runs').",
        )]
    if report.violation and report.violation["kind"] == "policy":
        return [_guard_finding(report.violation)]
    if report.violation:
        return [Finding(
            rule=f"TRIAL-{report.violation['kind'].upper()}",
            message=f"the trial run was killed: {report.violation['detail']}",
            hint=OUTPUT_HINT if report.violation["kind"] == "output" else
            "The sandbox stopped the script at the limit named in the message; what it "
            "printed is the trial part of `evalpod logs ID`.",
        )]
    if report.status == NO_TRIAL_MODEL:
        return [Finding(
            rule="TRIAL-NO-MODEL",
            message=f"no trial model: {report.error}",
            hint="The model's shadow (the trial model) cannot be built; an operator must "
                 "re-register the model (`evalpod models add`) or fix its config.json.",
        )]
    return [Finding(
        rule="TRIAL-FAILED",
        message=f"the trial run on the model's shadow failed: {report.error or report.status}",
        hint="evaluate_model(model) must run and return a JSON-serialisable dict; "
             "see the validation log for the traceback.",
    )]


__all__ = ["SandboxUnavailable", "TrialModel", "TrialReport", "run_trial", "script_cap_s",
           "trial_findings", "trial_model"]
