"""Benchmark use cases: create a version (analysed once), run it on models, rank the results.

A benchmark version is immutable: its script (with its sha256) or lm-eval tasks, its
dataset versions, its scorer and its primary metric. Its evaluations are created here,
tied to it by `benchmark_id`, and are the only evaluations promotion gates accept.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from evalpod import activity, lifecycle, queue
from evalpod.benchmarks.errors import BenchmarkNotFound
from evalpod.datasets.service import resolve_refs
from evalpod.errors import ForbiddenPattern, InvalidConfig, InvalidScript, ModelNotFound
from evalpod.keys import Principal
from evalpod.lifecycle import EvaluationStatus
from evalpod.orm import Benchmark, DatasetVersion, Evaluation, Model, new_id, utcnow
from evalpod.settings import Settings

SCORER_METRICS = ("exact_match", "f1", "accuracy", "multiple_choice_accuracy", "bleu", "chrf")
REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,127})(@(?P<version>[0-9]{1,9}))?$")
Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class ScorerSpec:
    metric: str
    dataset: str
    column: str


@dataclass
class BenchmarkSpec:
    """What an admin declares for a new version of benchmark `name`."""

    name: str
    primary_metric: str
    direction: Direction = "higher"
    description: str = ""
    kind: Literal["script", "lm_eval"] = "script"
    script: str | None = None
    tasks: list[str] = field(default_factory=list)
    num_fewshot: int = 0
    limit: int | None = None
    datasets: list[str] = field(default_factory=list)
    scorer: ScorerSpec | None = None
    config: dict[str, Any] = field(default_factory=dict)


def _invalid(field_name: str, message: str) -> InvalidConfig:
    return InvalidConfig(message, detail={"errors": [{"field": field_name, "message": message}]})


async def _analyse(spec: BenchmarkSpec, settings: Settings) -> dict[str, Any]:
    """The static analysis every run of this version reuses (it is not repeated per model)."""
    if spec.kind == "lm_eval":
        from evalpod.task_registry import check_lm_eval_request

        findings = check_lm_eval_request(spec.tasks, spec.num_fewshot, spec.limit, settings)
    else:
        from validator.analysis import analyse_script
        from validator.policy.config import Policy
        from validator.screen import ScriptSyntaxError, parse_script

        assert spec.script is not None
        try:
            tree = parse_script(spec.script)
        except ScriptSyntaxError as exc:
            raise InvalidScript(f"script does not parse: {exc.message}",
                                detail={"line": exc.line, "message": exc.message}) from exc
        from evalpod.preflight import check_data_request

        # Every run would fail on data it never gets: refuse the version, as submit does.
        check_data_request(tree, spec.datasets)
        report = await asyncio.to_thread(analyse_script, spec.script, Policy())
        findings = list(report.findings)
    from validator.findings import blocking

    errors = blocking(findings)
    if errors:
        raise ForbiddenPattern(f"benchmark rejected: {errors[0].message}",
                               detail={"findings": [f.model_dump() for f in errors]})
    return {"findings": [f.model_dump() for f in findings], "analysed_at": utcnow().isoformat()}


async def _check_scorer(session: AsyncSession, spec: BenchmarkSpec,
                        versions: dict[str, DatasetVersion]) -> dict[str, Any] | None:
    if spec.scorer is None:
        return None
    scorer = spec.scorer
    if scorer.metric not in SCORER_METRICS:
        raise _invalid("scorer.metric", f"unknown metric; one of {', '.join(SCORER_METRICS)}")
    version = versions.get(scorer.dataset)
    if version is None:
        raise _invalid("scorer.dataset", "the scorer's dataset must be one of the benchmark's")
    if scorer.column not in (version.hidden_columns or []):
        raise _invalid("scorer.column", f"{scorer.column!r} is not a hidden column of "
                                        f"{scorer.dataset}@{version.version}")
    return {"metric": scorer.metric, "dataset": scorer.dataset, "column": scorer.column}


async def create_benchmark(session: AsyncSession, principal: Principal, spec: BenchmarkSpec,
                           settings: Settings) -> Benchmark:
    """The next version of benchmark `spec.name` (1 for a new name).

    Raises `InvalidConfig`, `InvalidScript`, `ForbiddenPattern` (the analysis blocks it)
    or `DatasetNotFound` for a dataset version that is unknown or not ready.
    """
    if spec.kind == "script" and not spec.script:
        raise _invalid("script", "a script benchmark needs a script")
    if spec.kind == "lm_eval" and (spec.script or not spec.tasks):
        raise _invalid("tasks", "an lm-eval benchmark takes tasks, not a script")
    resolved = await resolve_refs(session, principal, spec.datasets) if spec.datasets else []
    scorer = await _check_scorer(session, spec, {r.name: r.version for r in resolved})
    analysis = await _analyse(spec, settings)
    latest = await session.scalar(select(func.max(Benchmark.version))
                                  .where(Benchmark.name == spec.name))
    benchmark = Benchmark(
        id=new_id("bm"), name=spec.name, version=int(latest or 0) + 1,
        description=spec.description, kind=spec.kind, script=spec.script,
        script_sha256=hashlib.sha256(spec.script.encode()).hexdigest() if spec.script else None,
        tasks=spec.tasks or None, num_fewshot=spec.num_fewshot, task_limit=spec.limit,
        dataset_versions=[r.version.id for r in resolved], scorer=scorer,
        primary_metric=spec.primary_metric, direction=spec.direction, config=spec.config,
        analysis=analysis, tenant_id=principal.tenant_id, created_by=principal.key_id,
        created_at=utcnow())
    session.add(benchmark)
    await session.flush()
    activity.record(session, tenant_id=principal.tenant_id, event_type="benchmark.created",
                    entity_type="benchmark", entity_id=benchmark.id, actor=principal.key_id,
                    data={"name": benchmark.name, "version": benchmark.version,
                          "kind": benchmark.kind})
    return benchmark


async def find_benchmark(session: AsyncSession, ref: str) -> Benchmark:
    """By id, `name@version`, or `name` (its latest version). Raises `BenchmarkNotFound`."""
    found = await session.get(Benchmark, ref)
    match = REF.match(ref)
    if found is None and match is not None:
        query = select(Benchmark).where(Benchmark.name == match["name"])
        if match["version"]:
            query = query.where(Benchmark.version == int(match["version"]))
        found = await session.scalar(query.order_by(Benchmark.version.desc()).limit(1))
    if found is None:
        raise BenchmarkNotFound(f"benchmark {ref!r} not found", detail={"benchmark": ref})
    return found


def label(benchmark: Benchmark) -> str:
    return f"{benchmark.name}@{benchmark.version}"


async def create_runs(session: AsyncSession, principal: Principal, benchmark: Benchmark,
                      model_ids: list[str], priority: int = 0) -> list[tuple[str, str]]:
    """One evaluation per model, tied to this version: [(model id, evaluation id)].

    The caller enqueues the returned jobs after commit (`queued_jobs`). Raises
    `ModelNotFound` (400) naming every unknown model before creating anything.
    """
    known = set(await session.scalars(select(Model.id).where(Model.id.in_(model_ids))))
    missing = [m for m in model_ids if m not in known]
    if missing:
        raise ModelNotFound(f"models not registered: {', '.join(missing)}",
                            detail={"model_ids": missing})
    created = []
    for model_id in dict.fromkeys(model_ids):
        now = utcnow()
        row = lifecycle.evaluation_row(
            id=new_id("ev"), tenant_id=principal.tenant_id, model_id=model_id,
            kind=benchmark.kind, script=benchmark.script, tasks=benchmark.tasks,
            num_fewshot=benchmark.num_fewshot, task_limit=benchmark.task_limit,
            config=dict(benchmark.config or {}),
            status=EvaluationStatus.pending_validation.value, priority=priority,
            tags={"benchmark": label(benchmark)}, created_by=principal.key_id,
            created_at=now, updated_at=now,
            dataset_versions=list(benchmark.dataset_versions or []) or None,
            benchmark_id=benchmark.id)
        await lifecycle.insert_submitted(session, row, actor=principal.key_id)
        created.append((model_id, row["id"]))
    return created


def queued_jobs(created: list[tuple[str, str]], priority: int,
                tenant_id: str | None = None) -> list[queue.QueuedJob]:
    return [queue.new_job("validate", evaluation_id, priority, tenant_id=tenant_id)
            for _, evaluation_id in created]


async def stored_analysis(session: AsyncSession, evaluation_id: str
                          ) -> list[dict[str, Any]] | None:
    """The benchmark's own analysis when the evaluation is a benchmark run, else None:
    the validator reuses it instead of analysing the same script once per model."""
    benchmark_id = await session.scalar(select(Evaluation.benchmark_id)
                                        .where(Evaluation.id == evaluation_id))
    if benchmark_id is None:
        return None
    benchmark = await session.get(Benchmark, benchmark_id)
    return list((benchmark.analysis or {}).get("findings", [])) if benchmark else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def benchmark_metrics(evaluation: Evaluation) -> dict[str, float]:
    """The numbers a benchmark run reports: the trusted scorer's, lm-eval's as task/metric
    (and, for a single task, also bare), or the benchmark script's own (an admin's code)."""
    result = evaluation.result or {}
    if isinstance(result.get("metrics"), dict) and "benchmark_id" in result:
        flat = dict(result["metrics"])
    elif evaluation.kind == "lm_eval" and isinstance(result.get("tasks"), dict):
        flat = {}
        tasks = result["tasks"]
        for task, metrics in tasks.items():
            if isinstance(metrics, dict):
                flat.update({f"{task}/{k}": v for k, v in metrics.items()})
                if len(tasks) == 1:
                    flat.update(metrics)
    else:
        flat = dict(result)
    return {k: float(v) for k, v in flat.items() if _number(v)}


@dataclass
class LeaderboardRow:
    rank: int | None
    model_id: str
    evaluation_id: str
    primary: float | None
    stderr: float | None
    metrics: dict[str, float]
    finished_at: Any


async def leaderboard(session: AsyncSession, benchmark: Benchmark) -> list[LeaderboardRow]:
    """One row per model: its latest succeeded run of this version, ranked by the primary
    metric in the benchmark's direction (models without it last, unranked)."""
    rows = await session.scalars(
        select(Evaluation).where(Evaluation.benchmark_id == benchmark.id,
                                 Evaluation.status == EvaluationStatus.succeeded.value)
        .order_by(Evaluation.finished_at.desc(), Evaluation.id.desc()))
    latest: dict[str, Evaluation] = {}
    for evaluation in rows:
        latest.setdefault(evaluation.model_id, evaluation)
    board = []
    for model_id, evaluation in latest.items():
        metrics = benchmark_metrics(evaluation)
        primary = metrics.get(benchmark.primary_metric)
        board.append(LeaderboardRow(None, model_id, evaluation.id, primary,
                                    metrics.get(f"{benchmark.primary_metric}_stderr"),
                                    metrics, evaluation.finished_at))
    sign = -1.0 if benchmark.direction == "higher" else 1.0
    board.sort(key=lambda r: (r.primary is None, sign * (r.primary or 0.0), r.model_id))
    for index, row in enumerate(board):
        row.rank = index + 1 if row.primary is not None else None
    return board
