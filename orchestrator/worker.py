"""The orchestrator worker: claims validated evaluations and runs them in the sandbox backend."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from evalpod import lifecycle, queue, stage_metrics
from evalpod.datasets.runtime import with_evaluation_data
from evalpod.errors import IllegalTransition
from evalpod.lifecycle import EvaluationStatus
from evalpod.model_files import directory_checksum
from evalpod.orm import Evaluation, Model, Tenant
from evalpod.terminal import on_terminal
from evalpod.workers import WorkerState, build_worker, retrying, run_claimed
from monitor.logs import LogWriter, logged
from orchestrator.components import COMPONENTS  # importing it registers them too
from orchestrator.gpus import GpuRequestTooLarge, GpuWaitStopped
from orchestrator.sandbox import (
    ResourceLimits,
    SandboxJob,
    SandboxOutcome,
    SandboxUnavailable,
)

log = logging.getLogger("evalpod.orchestrator")
S = EvaluationStatus
CANCEL_POLL_S = 1.0
UNAVAILABLE_BACKOFF = timedelta(seconds=15)
OUTCOME_STATUS = {
    "succeeded": S.succeeded,
    "failed": S.failed,
    "killed": S.killed,
    "cancelled": S.cancelled,
}


class RunInput(BaseModel):
    evaluation_id: str
    job: SandboxJob
    expected_checksum: str | None
    gpus: int = 0
    priority: int = 0


async def _claim(state: WorkerState, evaluation_id: str) -> RunInput | None:
    async with state.db.session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        if evaluation is None or evaluation.status != S.validated:
            return None
        model = await session.get(Model, evaluation.model_id)
        tenant = await session.get(Tenant, evaluation.tenant_id)
        await lifecycle.transition(
            session, evaluation_id, S.executing, actor=state.worker_id, expected=S.validated,
            reason=f"claimed by {state.worker_id}",
            values={"owner": state.worker_id, "attempts": evaluation.attempts + 1},
        )
        config = evaluation.config or {}
        job = SandboxJob(
            job_id=evaluation.id,
            kind="lm_eval" if evaluation.kind == "lm_eval" else "script",
            tenant_id=evaluation.tenant_id,
            fair_share=queue.fair_share_of(tenant.limits if tenant else None),
            script=evaluation.script,
            tasks=list(evaluation.tasks or []),
            num_fewshot=evaluation.num_fewshot,
            limit=evaluation.task_limit,
            model_id=evaluation.model_id,
            model_path=Path(model.storage_path) if model else None,
            limits=ResourceLimits(
                timeout_s=float(config.get("timeout_s", state.settings.default_timeout_s)),
                memory_mb=int(config.get("memory_mb", state.settings.default_memory_mb)),
                cpus=float(config.get("cpus", 1.0)),
            ),
        )
        return RunInput(evaluation_id=evaluation_id, job=job,
                        expected_checksum=model.checksum if model else None,
                        gpus=int(config.get("gpus", 0)), priority=evaluation.priority)


async def _watch_cancel(state: WorkerState, evaluation_id: str, cancel: asyncio.Event) -> None:
    """Pub/sub sets `cancel` at once; this poll catches a message that was missed, and a run
    taken from this worker (the reconciler re-queued it): either way the sandbox stops."""
    while not cancel.is_set():
        await asyncio.sleep(CANCEL_POLL_S)
        try:
            async with state.db.session() as session:
                row = (await session.execute(
                    select(Evaluation.status, Evaluation.owner)
                    .where(Evaluation.id == evaluation_id))).first()
        except Exception:
            log.warning("cancel poll of %s failed", evaluation_id, exc_info=True)
            continue
        if row is None or row[0] != S.executing or row[1] != state.worker_id:
            cancel.set()


async def _verify_model(run: RunInput) -> str | None:
    """The model on disk must be the one registered; checked before any code runs."""
    path = run.job.model_path
    if path is None or run.expected_checksum is None:
        return "model is not registered with a storage path"
    try:
        actual = await asyncio.to_thread(directory_checksum, path)
    except (OSError, ValueError) as exc:
        return f"model files unreadable: {exc}"
    if actual != run.expected_checksum:
        return f"model checksum mismatch: registered {run.expected_checksum[:12]}…, " \
               f"found {actual[:12]}…"
    return None


def _with_gpus(job: SandboxJob, indices: Iterable[int]) -> SandboxJob:
    limits = job.limits.model_copy(update={"gpu_indices": tuple(indices)})
    return job.model_copy(update={"limits": limits})


async def _execute(state: WorkerState, run: RunInput) -> SandboxOutcome:
    problem = await _verify_model(run)
    if problem is not None:
        return SandboxOutcome(status="failed", error=problem)
    cancel = state.cancels.watch(run.evaluation_id)
    watcher = asyncio.create_task(_watch_cancel(state, run.evaluation_id, cancel))
    writer = LogWriter(state.redis, run.evaluation_id, maxlen=state.settings.log_stream_maxlen)
    backend = await with_evaluation_data(state.db, state.backend, run.evaluation_id)
    try:
        if state.settings.backend == "kubernetes":
            # The cluster schedules GPUs; the pod asks for as many as the job wants.
            job = _with_gpus(run.job, range(run.gpus))
            return await logged(writer, job, backend.run(job, writer.write, cancel))
        # Waiting for GPUs counts against nothing but the queue: the wall clock starts at launch.
        async with state.gpus.acquire(run.gpus, run.priority, stop=cancel) as indices:
            job = _with_gpus(run.job, indices)
            return await logged(writer, job, backend.run(job, writer.write, cancel))
    except GpuWaitStopped:
        return SandboxOutcome(status="cancelled", error="cancelled while waiting for GPUs")
    except GpuRequestTooLarge as exc:
        return SandboxOutcome(status="failed", error=str(exc))
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        state.cancels.forget(run.evaluation_id)
        await writer.aclose()


async def _record(state: WorkerState, evaluation_id: str, outcome: SandboxOutcome) -> S:
    status = OUTCOME_STATUS[outcome.status]
    values: dict[str, Any] = {
        "owner": None,
        "result": outcome.result,
        "violation": outcome.violation.model_dump(mode="json") if outcome.violation else None,
        "error": outcome.error,
        "exit_code": outcome.exit_code,
    }
    reason = {
        S.succeeded: "the script returned its metrics",
        S.failed: f"the run failed: {outcome.error or 'no result'}",
        S.killed: f"killed: {outcome.violation.kind.value}: {outcome.violation.detail}"
        if outcome.violation else "killed",
        S.cancelled: "the run was stopped after a cancel",
    }[status]

    async def write() -> None:
        async with state.db.session() as session:
            await lifecycle.transition(session, evaluation_id, status, actor=state.worker_id,
                                       expected=S.executing, reason=reason, values=values,
                                       guard={"owner": state.worker_id})

    try:
        await retrying(write, what=f"recording the run of {evaluation_id}")
    except IllegalTransition as exc:
        # A cancel won the race (or the run was taken from us); keep what it recorded.
        return S(exc.current)
    return status


async def _requeue_unavailable(state: WorkerState, run: RunInput, reason: str) -> str:
    """The host could not sandbox: not the script's fault, so queue it again (bounded)."""
    log.error("sandbox unavailable for %s: %s", run.evaluation_id, reason)
    async with state.db.session() as session:
        evaluation = await session.get(Evaluation, run.evaluation_id)
        attempts = evaluation.attempts if evaluation else state.settings.max_attempts
        if attempts >= state.settings.max_attempts:
            await lifecycle.transition(
                session, run.evaluation_id, S.failed, actor=state.worker_id,
                expected=S.executing, reason=f"sandbox unavailable {attempts} times: {reason}",
                values={"owner": None, "error": f"sandbox unavailable: {reason}"},
                guard={"owner": state.worker_id})
            failed = True
        else:
            job = queue.new_job("execute", run.evaluation_id, run.priority)
            await lifecycle.transition(
                session, run.evaluation_id, S.validated, actor=state.worker_id,
                expected=S.executing, reason=f"re-queued: sandbox unavailable: {reason}",
                values={"owner": None, "queue_job_id": job.job_id},
                guard={"owner": state.worker_id})
            failed = False
    if failed:
        await on_terminal(state, run.evaluation_id, S.failed)
        return S.failed.value
    await queue.send(state.redis, job, delay=UNAVAILABLE_BACKOFF * attempts)
    return "requeued"


async def execute_evaluation(ctx: dict[str, Any], evaluation_id: str) -> str:
    """arq job: run one validated evaluation to a terminal status; safe to run twice.
    A failure after the claim hands the evaluation back (`evalpod.workers.run_claimed`)."""
    return await run_claimed(ctx, "execute", evaluation_id, _claim, _run_claimed)


async def _run_claimed(state: WorkerState, run: RunInput) -> str:
    started = time.monotonic()
    try:
        outcome = await _execute(state, run)
    except SandboxUnavailable as exc:
        return await _requeue_unavailable(state, run, str(exc))
    final = await _record(state, run.evaluation_id, outcome)
    await stage_metrics.observe(state.redis, "run", time.monotonic() - started)
    await on_terminal(state, run.evaluation_id, final)
    return final.value


def create_worker() -> Any:
    from evalpod.settings import get_settings

    settings = get_settings()
    return build_worker(
        "orchestrator", execute_evaluation, queue.EXECUTE_QUEUE,
        settings.orchestrator_concurrency, job_timeout_s=settings.max_timeout_s + 300,
        settings=settings, components=COMPONENTS,
    )
