"""The validator worker: static analysis, then the trial run; records validated or rejected."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from evalpod import lifecycle, queue, stage_metrics
from evalpod.benchmarks.service import stored_analysis
from evalpod.datasets.runtime import with_evaluation_data
from evalpod.errors import IllegalTransition
from evalpod.lifecycle import EvaluationStatus
from evalpod.orm import Evaluation, Tenant
from evalpod.reconciler import hand_back
from evalpod.task_registry import check_lm_eval_request
from evalpod.terminal import on_terminal
from evalpod.workers import WorkerState, build_worker, holds, retrying, run_claimed
from monitor.logs import end_note, job_log
from orchestrator.components import COMPONENTS  # importing it registers them too
from orchestrator.sandbox import SandboxBackend, SandboxUnavailable
from validator.analysis import shutdown, warm_up
from validator.findings import Finding, blocking
from validator.policy.config import Policy
from validator.trial import TrialReport, run_trial, script_cap_s, trial_findings
from validator.verdicts import Verdict, static_verdict

log = logging.getLogger("evalpod.validator")
UNAVAILABLE_BACKOFF = timedelta(seconds=15)
S = EvaluationStatus


class ValidationInput(BaseModel):
    evaluation_id: str
    kind: str
    model_id: str
    script: str | None
    tasks: list[str]
    num_fewshot: int
    limit: int | None
    priority: int
    policy: dict[str, Any] | None
    tenant_id: str | None = None
    fair_share: float | None = None
    timeout_s: int | None = None  # the evaluation's config.timeout_s: caps the trial too


class ValidationReport(BaseModel):
    findings: list[Finding]
    static_ms: float | None = None
    analysers_ms: dict[str, float] = {}
    # True when the static verdict is an identical earlier script's (`validator.verdicts`):
    # static_ms and analysers_ms are then that analysis's.
    static_reused: bool = False
    trial: TrialReport | None = None
    duration_s: float

    @property
    def passed(self) -> bool:
        return not blocking(self.findings)


async def _claim(state: WorkerState, evaluation_id: str) -> ValidationInput | None:
    async with state.db.session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        if evaluation is None or evaluation.status != S.pending_validation:
            return None
        if evaluation.owner and await holds(state.redis, evaluation.owner, evaluation_id):
            return None  # a duplicate delivery: the live owner is already validating it
        tenant = await session.get(Tenant, evaluation.tenant_id)
        claimed = await lifecycle.set_fields(
            session, evaluation_id, expected=S.pending_validation,
            values={"owner": state.worker_id}, guard={"owner": evaluation.owner})
        if not claimed:
            return None
        return ValidationInput(
            evaluation_id=evaluation.id, kind=evaluation.kind, model_id=evaluation.model_id,
            script=evaluation.script,
            tasks=list(evaluation.tasks or []), num_fewshot=evaluation.num_fewshot,
            limit=evaluation.task_limit, priority=evaluation.priority,
            policy=tenant.policy if tenant else None, tenant_id=evaluation.tenant_id,
            fair_share=queue.fair_share_of(tenant.limits if tenant else None),
            timeout_s=(evaluation.config or {}).get("timeout_s"),
        )


async def _static(state: WorkerState, job: ValidationInput, source: str) -> Verdict:
    """The static analysis, or the verdict of an identical earlier script (`verdicts`)."""
    return await static_verdict(state.redis, job.tenant_id, source,
                                Policy.model_validate(job.policy or {}))


async def validate(state: WorkerState, backend: SandboxBackend, job: ValidationInput
                   ) -> ValidationReport:
    started = time.perf_counter()
    async with state.db.session() as session:
        reused = await stored_analysis(session, job.evaluation_id)
    if reused is not None:  # a benchmark run: its script was analysed once, at creation
        return ValidationReport(findings=[Finding.model_validate(f) for f in reused],
                                duration_s=time.perf_counter() - started)
    if job.kind == "lm_eval":
        findings = check_lm_eval_request(job.tasks, job.num_fewshot, job.limit, state.settings)
        return ValidationReport(findings=findings, duration_s=time.perf_counter() - started)
    assert job.script is not None
    verdict = await _static(state, job, job.script)
    static = verdict.report
    findings = list(static.findings)
    report = ValidationReport(findings=findings, static_ms=static.duration_ms,
                              analysers_ms=dict(static.analysers),
                              static_reused=verdict.reused,
                              duration_s=time.perf_counter() - started)
    if blocking(findings):
        return report
    # The trial sees the first rows of the evaluation's datasets (never hidden columns).
    backend = await with_evaluation_data(state.db, backend, job.evaluation_id, trial=True)
    # A cancel while the trial runs stops it at once, as it does a real run.
    cancel = state.cancels.watch(job.evaluation_id)
    try:
        async with job_log(state, job.evaluation_id, "trial") as trial_log:
            await trial_log.header(f"trial run: the script once on the shadow of {job.model_id}, "
                                 f"at most {script_cap_s(state.settings, job.timeout_s):g} s")
            trial = await run_trial(backend, job.evaluation_id, job.script, state.settings,
                                    cancel, model_id=job.model_id, db=state.db,
                                    on_line=trial_log.write, tenant_id=job.tenant_id,
                                    fair_share=job.fair_share, job_timeout_s=job.timeout_s)
            await trial_log.note(end_note("trial", trial.status, trial.duration_s,
                                          _trial_detail(trial), trial.startup_s))
    finally:
        state.cancels.forget(job.evaluation_id)
    report.trial = trial
    report.findings = findings + trial_findings(trial)
    report.duration_s = time.perf_counter() - started
    return report


def _trial_detail(trial: TrialReport) -> str | None:
    if trial.violation:
        return f"{trial.violation.get('kind')}: {trial.violation.get('detail')}"
    return trial.error


async def _record(state: WorkerState, job: ValidationInput, report: ValidationReport) -> None:
    values: dict[str, Any] = {
        "owner": None,
        "findings": [f.model_dump() for f in report.findings],
        "validation_report": report.model_dump(mode="json", exclude={"findings"},
                                               exclude_none=True) | {
            "trial": report.trial.model_dump(exclude={"log"}) if report.trial else None},
        "validation_log": report.trial.log if report.trial else None,
    }
    if report.passed:
        next_job = queue.new_job("execute", job.evaluation_id, job.priority,
                                 tenant_id=job.tenant_id)

        async def passed() -> None:
            async with state.db.session() as session:
                await lifecycle.transition(
                    session, job.evaluation_id, S.validated, actor=state.worker_id,
                    expected=S.pending_validation, reason="static analysis and trial run passed",
                    values=values | {"queue_job_id": next_job.job_id},
                    guard={"owner": state.worker_id},
                )

        await retrying(passed, what=f"recording {job.evaluation_id} as validated")
        # Committed: if this send fails the reconciler finds the job missing and re-queues.
        await queue.send(state.redis, next_job)
        return
    first = blocking(report.findings)[0]

    async def rejected() -> None:
        async with state.db.session() as session:
            await lifecycle.transition(
                session, job.evaluation_id, S.validation_failed, actor=state.worker_id,
                expected=S.pending_validation, reason=f"{first.rule}: {first.message}"[:500],
                values=values | {"error": first.message}, guard={"owner": state.worker_id},
            )

    await retrying(rejected, what=f"recording {job.evaluation_id} as rejected")
    await on_terminal(state, job.evaluation_id, S.validation_failed)


async def validate_evaluation(ctx: dict[str, Any], evaluation_id: str) -> str:
    """arq job: validate one evaluation; safe to run twice (the second finds nothing to do).
    A failure after the claim hands the evaluation back (`evalpod.workers.run_claimed`)."""
    return await run_claimed(ctx, "validate", evaluation_id, _claim, _validate_claimed)


async def _validate_claimed(state: WorkerState, job: ValidationInput) -> str:
    evaluation_id = job.evaluation_id
    try:
        report = await validate(state, state.backend, job)
    except SandboxUnavailable as exc:
        # Not the script's fault: queue it again after a pause, counted like a lost
        # validation, so a host that stays unable to sandbox fails it in the end.
        log.error("sandbox unavailable while validating %s: %s", evaluation_id, exc)
        await hand_back(state.db, state.redis, state.settings, evaluation_id,
                        owner=state.worker_id, cause=f"sandbox unavailable: {exc}"[:500],
                        delay=UNAVAILABLE_BACKOFF)
        return "sandbox-unavailable"
    try:
        await _record(state, job, report)
    except IllegalTransition as exc:
        log.info("validation of %s discarded: now %s", evaluation_id, exc.current)
        return "discarded"
    await stage_metrics.observe(state.redis, "validation", report.duration_s)
    return "validated" if report.passed else "rejected"


def create_worker() -> Any:
    from evalpod.settings import get_settings

    settings = get_settings()
    return build_worker(
        "validator", validate_evaluation, queue.VALIDATE_QUEUE, settings.validator_concurrency,
        job_timeout_s=settings.trial_timeout_s + settings.trial_startup_s + 120,
        settings=settings, components=COMPONENTS,
        on_start=warm_up, on_stop=shutdown,
    )
