"""Data in the sandbox: a backend wrapper that mounts an evaluation's dataset versions.

`with_evaluation_data` wraps the worker's backend for one evaluation: every job it runs
gets the versions' public Arrow directories read-only at `/data/<name>` (verified
against their recorded sha256 first), and a benchmark run with a trusted scorer is
followed by the scoring job, which alone reads the hidden columns. The validator and
the orchestrator each change one line to use it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from evalpod.datasets import storage
from evalpod.db import Database
from evalpod.model_files import directory_checksum
from evalpod.orm import Benchmark, Dataset, DatasetVersion, Evaluation
from orchestrator.sandbox import (
    BackendHealth,
    DataMount,
    LineSink,
    SandboxBackend,
    SandboxJob,
    SandboxOutcome,
    SandboxProcess,
)

TRIAL_ROWS = 8


@dataclass(frozen=True)
class MountedVersion:
    """One dataset version as an evaluation sees it."""

    name: str
    version_id: str
    public_dir: Path
    data_sha256: str
    hidden_dir: Path | None
    id_column: str
    split: str

    @property
    def target(self) -> str:
        return f"/data/{self.name}"


@dataclass
class EvaluationData:
    versions: list[MountedVersion] = field(default_factory=list)
    benchmark: Benchmark | None = None


async def load_evaluation_data(db: Database, evaluation_id: str) -> EvaluationData:
    """The versions an evaluation named (in order) and its benchmark, from the database."""
    async with db.session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        if evaluation is None:
            return EvaluationData()
        ids = [str(i) for i in evaluation.dataset_versions or []]
        rows = {v.id: (v, d) for v, d in (await session.execute(
            select(DatasetVersion, Dataset).join(Dataset, Dataset.id == DatasetVersion.dataset_id)
            .where(DatasetVersion.id.in_(ids)))).tuples()} if ids else {}
        benchmark = (await session.get(Benchmark, evaluation.benchmark_id)
                     if evaluation.benchmark_id else None)
    versions = []
    for version_id in ids:
        version, dataset = rows[version_id]
        root = Path(version.storage_path)
        versions.append(MountedVersion(
            name=_base_name(dataset.name), version_id=version.id,
            public_dir=root / storage.PUBLIC, data_sha256=version.data_sha256 or "",
            hidden_dir=root / storage.HIDDEN if version.hidden_columns else None,
            id_column=version.id_column, split=version.split))
    return EvaluationData(versions, benchmark)


def _base_name(name: str) -> str:
    # A dataset deleted after the evaluation was accepted keeps its data; mount it by
    # the name the script was written against.
    return name.split("~deleted~", 1)[0]


def verify_versions(versions: list[MountedVersion]) -> str | None:
    """Why the data on disk is not what was recorded, or None: checked before any code runs."""
    for version in versions:
        try:
            actual = directory_checksum(version.public_dir)
        except (OSError, ValueError) as exc:
            return f"dataset {version.name} unreadable: {exc}"
        if actual != version.data_sha256:
            return (f"dataset {version.name} checksum mismatch: recorded "
                    f"{version.data_sha256[:12]}…, found {actual[:12]}…")
    return None


class DataBackend(SandboxBackend):
    """`inner` with the evaluation's data mounted into every job (and scoring after)."""

    def __init__(self, inner: SandboxBackend, data: EvaluationData, *,
                 row_limit: int | None = None) -> None:
        self.inner = inner
        self.data = data
        self.row_limit = row_limit
        self.name = inner.name

    def with_data(self, job: SandboxJob) -> SandboxJob:
        mounts = [DataMount(source=v.public_dir, target=v.target) for v in self.data.versions]
        return job.model_copy(update={
            "mounts": [*job.mounts, *mounts],
            "datasets": {**job.datasets, **{v.name: v.target for v in self.data.versions}},
            "data_row_limit": self.row_limit})

    async def launch(self, job: SandboxJob) -> SandboxProcess:
        return await self.inner.launch(self.with_data(job))

    async def health(self) -> BackendHealth:
        return await self.inner.health()

    async def run(self, job: SandboxJob, on_line: LineSink,
                  cancel: asyncio.Event | None = None) -> SandboxOutcome:
        if self.data.versions and self.inner.name != "local":
            # Only the local backend binds host directories; a pod would see no /data.
            return SandboxOutcome(status="failed", error="datasets are mounted only by the "
                                  f"local backend, not {self.inner.name!r}")
        problem = await asyncio.to_thread(verify_versions, self.data.versions)
        if problem is not None:
            return SandboxOutcome(status="failed", error=problem)
        outcome = await self.inner.run(self.with_data(job), on_line, cancel)
        benchmark = self.data.benchmark
        if (self.row_limit is None and benchmark is not None and benchmark.scorer
                and outcome.status == "succeeded"):
            from evalpod.benchmarks.scoring import score_outcome

            return await score_outcome(self.inner, job, outcome, benchmark, self.data.versions,
                                       on_line, cancel)
        return outcome


async def with_evaluation_data(db: Database, backend: SandboxBackend, evaluation_id: str, *,
                               trial: bool = False) -> SandboxBackend:
    """`backend` itself when the evaluation names no data and no benchmark, else a
    `DataBackend`. A trial sees only the first rows of each dataset and is never scored."""
    data = await load_evaluation_data(db, evaluation_id)
    if not data.versions and data.benchmark is None:
        return backend
    return DataBackend(backend, data, row_limit=TRIAL_ROWS if trial else None)
