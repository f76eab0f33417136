"""The check of an uploaded version, run by a worker as a sandbox job (never in-process).

The harness's `dataset_check` parses the upload with the runtime's libraries inside the
sandbox and writes Arrow into a sandbox-writable export directory; this module copies
the expected files out (without following anything the sandbox wrote), fingerprints
them and moves the version `processing -> ready | failed` with the report.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select, update

from evalpod import queue
from evalpod.datasets import storage
from evalpod.datasets.service import VersionStatus, check_job_id, finish_version
from evalpod.model_files import directory_checksum
from evalpod.orm import DatasetVersion, utcnow
from evalpod.settings import Settings
from evalpod.workers import WorkerState, build_worker
from orchestrator.sandbox import (
    DataMount,
    ResourceLimits,
    SandboxBackend,
    SandboxJob,
    SandboxOutcome,
)

log = logging.getLogger("evalpod.datasets")
DATASET_QUEUE = "evalpod:queue:datasets"
CHECK_FUNCTION = "check_dataset_version"
MIB = 1024 * 1024
LOG_LINES = 200
# A processing version younger than this may still be between commit and enqueue.
RECHECK_GRACE = timedelta(seconds=30)


class Finding(BaseModel):
    code: str
    severity: str = "error"
    message: str
    line: int | None = None


class CheckReport(BaseModel):
    """The check job's result, as the host accepts it (anything else fails the version)."""

    ok: bool
    findings: list[Finding] = Field(default_factory=list, max_length=100)
    row_count: int | None = None
    columns: list[dict[str, Any]] | None = Field(default=None, max_length=10_000)
    statistics: dict[str, Any] | None = None
    splits: dict[str, int] | None = None
    files: dict[str, int] = Field(default_factory=dict, max_length=16)


def check_job(version: DatasetVersion, export: Path, settings: Settings) -> SandboxJob:
    raw = Path(version.storage_path) / storage.RAW
    size_mb = version.size_bytes // MIB + 1
    return SandboxJob(
        job_id=f"check-{version.id}"[:64],
        kind="dataset_check",
        model_id="stub",
        mounts=[DataMount(source=raw, target="/input"),
                DataMount(source=export, target="/export", writable=True)],
        options={"input_path": f"/input/upload.{version.file_format}",
                 "format": version.file_format, "split": version.split,
                 "id_column": version.id_column, "hidden_columns": version.hidden_columns,
                 "export_dir": "/export"},
        limits=ResourceLimits(
            timeout_s=settings.dataset_check_timeout_s,
            memory_mb=settings.dataset_check_memory_mb,
            # Also the per-file size cap: Arrow can be a few times its JSONL or CSV.
            disk_mb=max(256, 4 * size_mb + 64),
            max_result_bytes=4 * MIB,
        ),
    )


def _failed(message: str, code: str = "CHECK_FAILED") -> dict[str, Any]:
    return {"ok": False, "findings": [{"code": code, "severity": "error", "message": message}]}


def _collect(version: DatasetVersion, export: Path, report: CheckReport) -> dict[str, Any]:
    """Copy the exported Arrow files into the version's storage; the columns to record."""
    target = Path(version.storage_path)
    cap = 8 * version.size_bytes + 64 * MIB
    expected = {f"public/{version.split}.arrow"}
    if version.hidden_columns:
        expected.add(f"hidden/{version.split}.arrow")
    if set(report.files) != expected:
        raise storage.ExportRejected(f"the check wrote {sorted(report.files)}, "
                                     f"expected {sorted(expected)}")
    for relative in sorted(expected):
        storage.copy_export(export, relative, target / relative, cap)
    values: dict[str, Any] = {"data_sha256": directory_checksum(target / storage.PUBLIC)}
    if version.hidden_columns:
        values["hidden_sha256"] = directory_checksum(target / storage.HIDDEN)
    return values


async def run_check(backend: SandboxBackend, version: DatasetVersion, settings: Settings,
                    log_lines: list[str]) -> tuple[VersionStatus, dict[str, Any]]:
    """Run the check in the sandbox; (final status, values to record on the version)."""
    export = storage.new_export_dir(settings, version.id)

    async def keep(line: str) -> None:
        if len(log_lines) < LOG_LINES:
            log_lines.append(line)

    try:
        outcome: SandboxOutcome = await backend.run(check_job(version, export, settings), keep)
        raw = outcome.result if outcome.status == "succeeded" else None
        if raw is None:
            detail = outcome.violation.detail if outcome.violation else outcome.error
            return VersionStatus.failed, {"report": _failed(
                f"the check did not finish ({outcome.status}): {detail or 'no result'}")}
        try:
            report = CheckReport.model_validate(raw)
        except ValidationError:
            return VersionStatus.failed, {"report": _failed("the check's report is malformed")}
        values: dict[str, Any] = {"report": report.model_dump(mode="json",
                                                              include={"ok", "findings"}),
                                  "row_count": report.row_count, "columns": report.columns,
                                  "statistics": report.statistics, "splits": report.splits}
        if not report.ok:
            return VersionStatus.failed, values
        try:
            values |= await asyncio.to_thread(_collect, version, export, report)
        except (storage.ExportRejected, OSError, ValueError) as exc:
            return VersionStatus.failed, values | {"report": _failed(str(exc))}
        return VersionStatus.ready, values
    finally:
        await asyncio.to_thread(shutil.rmtree, export, True)


async def check_dataset_version(ctx: dict[str, Any], version_id: str) -> str:
    """arq job: check one uploaded version; safe to run twice (the second changes nothing)."""
    state: WorkerState = ctx["state"]
    async with state.db.session() as session:
        version = await session.get(DatasetVersion, version_id)
        if version is None or version.status != VersionStatus.processing:
            return "skipped"
        session.expunge(version)
    lines: list[str] = []
    status, values = await run_check(state.backend, version, state.settings, lines)
    if status == VersionStatus.failed:
        values.setdefault("report", {})["log"] = lines[-50:]
    async with state.db.session() as session:
        changed = await finish_version(session, version_id, status, values)
    log.info("dataset version %s: %s", version_id, status.value if changed else "already done")
    return status.value


async def enqueue_check(redis: ArqRedis, version_id: str, job_id: str) -> None:
    """Send the check of `version_id` as arq job `job_id` (a no-op if arq knows the id)."""
    await redis.enqueue_job(CHECK_FUNCTION, version_id, _job_id=job_id,
                            _queue_name=DATASET_QUEUE)


async def requeue_lost_checks(state: WorkerState, grace: timedelta = RECHECK_GRACE) -> int:
    """Send again the check of every `processing` version whose arq job is gone (the API
    died between commit and enqueue, Redis lost it, a worker died mid-check). The
    database is the truth; a duplicate check changes nothing (`finish_version`)."""
    cutoff = utcnow() - grace
    async with state.db.session() as session:
        rows = list(await session.execute(
            select(DatasetVersion.id, DatasetVersion.queue_job_id)
            .where(DatasetVersion.status == VersionStatus.processing.value,
                   DatasetVersion.created_at < cutoff).limit(100)))
    sent = 0
    for version_id, job_id in rows:
        if await queue.is_pending(state.redis, job_id):
            continue
        fresh = check_job_id(version_id)
        async with state.db.session() as session:
            moved = await session.execute(
                update(DatasetVersion)
                .where(DatasetVersion.id == version_id,
                       DatasetVersion.status == VersionStatus.processing.value,
                       DatasetVersion.queue_job_id == job_id)
                .values(queue_job_id=fresh))
        if getattr(moved, "rowcount", 0):
            await enqueue_check(state.redis, version_id, fresh)
            log.warning("re-sent the lost check of dataset version %s", version_id)
            sent += 1
    return sent


async def _reconcile_forever(state: WorkerState) -> None:
    while True:
        try:
            await requeue_lost_checks(state)
        except Exception:
            log.warning("dataset check reconcile pass failed", exc_info=True)
        await asyncio.sleep(state.settings.reconcile_interval_s)


def create_worker(settings: Settings | None = None) -> Any:
    """The arq worker that checks uploads (run beside the orchestrator: it needs a sandbox),
    with its own reconcile loop for lost check jobs."""
    from evalpod.settings import get_settings

    settings = settings or get_settings()
    worker = build_worker("datasets", check_dataset_version, DATASET_QUEUE, 1,
                          job_timeout_s=settings.dataset_check_timeout_s + 300,
                          settings=settings, reconcile=False)
    started = worker.on_startup

    async def on_startup(ctx: dict[str, Any]) -> None:
        if started is not None:
            await started(ctx)
        state: WorkerState = ctx["state"]
        state.tasks.append(asyncio.create_task(_reconcile_forever(state)))

    worker.on_startup = on_startup
    return worker
