"""Model stage changes: the evaluation-policy gate, promotion with demotion, and rollback.

Every change writes a `ModelStageEvent` and an activity event in the caller's
transaction. A lineage is a root model and all its descendants (via `parent_id`);
it has at most one production model at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator
from pydantic.config import JsonDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from evalpod import activity
from evalpod.benchmarks.errors import BenchmarkNotFound
from evalpod.benchmarks.service import benchmark_metrics, find_benchmark
from evalpod.lifecycle import EvaluationStatus
from evalpod.orm import Evaluation, Model, ModelStageEvent, utcnow
from evalpod.registry_errors import (
    InvalidStageChange,
    ModelNotFoundHttp,
    NothingToRollBack,
    PromotionBlocked,
)

MAX_LINEAGE_DEPTH = 64
SCAN_BATCH = 200


class ModelStage(StrEnum):
    staging = "staging"
    production = "production"
    archived = "archived"


def _one_source_rule(schema: dict[str, Any]) -> None:
    """`_one_source` (and the legacy `name`), stated in the schema."""
    named = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[^\x00]*$"}
    schema["anyOf"] = [
        {"required": ["benchmark"], "properties": {
            "benchmark": {"type": "string"}, "lm_eval_task": {"type": "null"}}},
        {"required": ["lm_eval_task"], "properties": {
            "lm_eval_task": {"type": "string"}, "benchmark": {"type": "null"}}},
        {"required": ["name"], "properties": {"name": named},
         "not": {"anyOf": [{"required": ["benchmark"]}, {"required": ["lm_eval_task"]}]}},
    ]


def _no_nul(name: str) -> str:
    if "\x00" in name:
        raise ValueError("NUL characters are not allowed")
    return name


def _names_without_nul(schema: JsonDict) -> None:
    names = schema.setdefault("propertyNames", {})
    assert isinstance(names, dict)
    names["pattern"] = r"^[^\x00]*$"


# Stored as JSON, which PostgreSQL cannot hold NUL in. (Not a `pattern` on the key: pydantic
# would document that as `patternProperties`, which leaves other names unconstrained.)
MetricName = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_no_nul)]
# A JSON number (not `true`, not "0.5"), finite.
MinScore = Annotated[float, Strict(), Field(allow_inf_nan=False)]


class Requirement(BaseModel):
    """One gate: the model's latest succeeded run of a benchmark version, or of an lm-eval
    task run by the platform, must reach every minimum.

    A submitter's own script never satisfies a gate, tagged or not. The old form
    `{"name": X}` (met by scripts tagged eval=X) is read as `{"lm_eval_task": X}`.
    """

    model_config = ConfigDict(json_schema_extra=lambda schema, _cls: _one_source_rule(schema))

    benchmark: str | None = Field(
        default=None, min_length=3, max_length=140, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*@[0-9]+$",
        description="A benchmark version, name@version: only its runs count.")
    lm_eval_task: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[^\x00]*$",
        description="An lm-eval task: an lm_eval evaluation of the tenant that ran it.")
    min_scores: dict[MetricName, MinScore] = Field(
        min_length=1, max_length=50, json_schema_extra=_names_without_nul,
        description="metric -> smallest acceptable value.")

    @model_validator(mode="before")
    @classmethod
    def _legacy_name(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "name" in raw:
            rest = {k: v for k, v in raw.items() if k != "name"}
            if "benchmark" not in rest and "lm_eval_task" not in rest:
                return {"lm_eval_task": raw["name"], **rest}
            return rest
        return raw

    @model_validator(mode="after")
    def _one_source(self) -> Requirement:
        if (self.benchmark is None) == (self.lm_eval_task is None):
            raise ValueError("name exactly one of benchmark or lm_eval_task")
        return self

    @property
    def key(self) -> str:
        """How failures name this requirement."""
        return self.benchmark or self.lm_eval_task or ""


class EvaluationPolicy(BaseModel):
    """What a model needs before it may enter production. A benchmark or task named by
    several requirements must meet the minimums of each."""

    required: list[Requirement] = Field(default_factory=list, max_length=50)


@dataclass(frozen=True)
class GateFailure:
    requirement: str
    metric: str
    required: float
    actual: Any
    evaluation_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "metric": self.metric,
                "required": self.required, "actual": self.actual,
                "evaluation_id": self.evaluation_id}


@dataclass
class GateReport:
    failures: list[GateFailure] = field(default_factory=list)
    evaluation_ids: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class StageChange:
    """One model's move, as recorded in `model_stage_events`."""

    model_id: str
    from_stage: str
    to_stage: str


@dataclass
class ChangeRequest:
    """Who asks for a stage change, and why."""

    actor: str
    tenant_id: str
    reason: str
    approval_ref: str | None = None


def parse_policy(raw: dict[str, Any] | None) -> EvaluationPolicy:
    return EvaluationPolicy.model_validate(raw or {})


def requirement_metrics(evaluation: Evaluation, requirement: Requirement,
                        benchmark_id: str | None = None) -> dict[str, Any] | None:
    """The metrics `evaluation` reports for `requirement`, or None if it does not count.

    Only runs created from the benchmark version (`benchmark_id`) count for a benchmark;
    only lm_eval evaluations that ran the task count for a task. Script evaluations of
    submitters count for nothing.
    """
    if requirement.benchmark is not None:
        if benchmark_id is None or evaluation.benchmark_id != benchmark_id:
            return None
        return dict(benchmark_metrics(evaluation))
    result = evaluation.result or {}
    if evaluation.kind != "lm_eval" or evaluation.benchmark_id is not None:
        return None
    tasks = result.get("tasks")
    metrics = tasks.get(requirement.lm_eval_task) if isinstance(tasks, dict) else None
    return metrics if isinstance(metrics, dict) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def judge(requirement: Requirement, evaluation: Evaluation | None,
          benchmark_id: str | None = None) -> list[GateFailure]:
    """Every minimum of `requirement` that `evaluation` (its latest match) misses."""
    metrics = requirement_metrics(evaluation, requirement, benchmark_id) if evaluation else None
    failures = []
    for metric, minimum in requirement.min_scores.items():
        actual = (metrics or {}).get(metric, "missing")
        if not (_is_number(actual) and actual >= minimum):
            failures.append(GateFailure(requirement.key, metric, minimum, actual,
                                        evaluation.id if evaluation else None))
    return failures


async def _benchmark_ids(session: AsyncSession, requirements: Sequence[Requirement]
                         ) -> dict[str, str]:
    """Benchmark version ids by requirement key; an unknown version stays unmet."""
    ids: dict[str, str] = {}
    for requirement in requirements:
        if requirement.benchmark is None:
            continue
        try:
            ids[requirement.key] = (await find_benchmark(session, requirement.benchmark)).id
        except BenchmarkNotFound:
            continue
    return ids


async def latest_matches(
    session: AsyncSession, model_id: str, tenant_id: str, requirements: Sequence[Requirement],
    benchmark_ids: dict[str, str],
) -> dict[str, Evaluation]:
    """The newest succeeded evaluation on the model for each requirement: any tenant's run
    of a benchmark version (the platform ran it), the tenant's own lm-eval runs."""
    found: dict[str, Evaluation] = {}
    succeeded = (Evaluation.model_id == model_id,
                 Evaluation.status == EvaluationStatus.succeeded.value)
    newest = (Evaluation.finished_at.desc(), Evaluation.id.desc())
    for requirement in requirements:
        benchmark_id = benchmark_ids.get(requirement.key)
        if benchmark_id is not None:
            run = await session.scalar(select(Evaluation).where(
                *succeeded, Evaluation.benchmark_id == benchmark_id).order_by(*newest).limit(1))
            if run is not None:
                found[requirement.key] = run
    tasks = [r for r in requirements if r.lm_eval_task is not None]
    query = (select(Evaluation)
             .where(*succeeded, Evaluation.tenant_id == tenant_id,
                    Evaluation.kind == "lm_eval", Evaluation.benchmark_id.is_(None))
             .order_by(*newest))
    offset = 0
    # Results are JSON: match in Python over bounded batches to stay portable.
    while tasks and len(found) < len(requirements):
        rows = list(await session.scalars(query.limit(SCAN_BATCH).offset(offset)))
        for evaluation in rows:
            for requirement in tasks:
                if (requirement.key not in found
                        and requirement_metrics(evaluation, requirement) is not None):
                    found[requirement.key] = evaluation
        if len(rows) < SCAN_BATCH:
            break
        offset += SCAN_BATCH
    return found


async def check_gate(session: AsyncSession, model: Model, tenant_id: str) -> GateReport:
    policy = parse_policy(model.evaluation_policy)
    benchmark_ids = await _benchmark_ids(session, policy.required)
    latest = await latest_matches(session, model.id, tenant_id, policy.required, benchmark_ids)
    report = GateReport()
    for requirement in policy.required:
        evaluation = latest.get(requirement.key)
        report.failures.extend(judge(requirement, evaluation,
                                     benchmark_ids.get(requirement.key)))
        if evaluation is not None and evaluation.id not in report.evaluation_ids:
            report.evaluation_ids.append(evaluation.id)
    return report


async def get_model(session: AsyncSession, model_id: str) -> Model:
    model = await session.get(Model, model_id)
    if model is None:
        raise ModelNotFoundHttp(f"model {model_id!r} is not registered",
                                detail={"model_id": model_id})
    return model


async def ancestors(session: AsyncSession, model: Model) -> list[Model]:
    """Parent, grandparent, … up to the root (cycle-safe, depth-capped)."""
    chain: list[Model] = []
    seen = {model.id}
    current = model
    while current.parent_id and current.parent_id not in seen and len(chain) < MAX_LINEAGE_DEPTH:
        parent = await session.get(Model, current.parent_id)
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.id)
        current = parent
    return chain


async def lineage_ids(session: AsyncSession, model: Model) -> list[str]:
    """The ids of the model's root and every descendant of that root."""
    chain = await ancestors(session, model)
    root = chain[-1].id if chain else model.id
    members = [root]
    frontier = [root]
    for _ in range(MAX_LINEAGE_DEPTH):
        children = list(await session.scalars(
            select(Model.id).where(Model.parent_id.in_(frontier))))
        frontier = [c for c in children if c not in members]
        if not frontier:
            break
        members.extend(frontier)
    return members


async def _ensure_single_production(session: AsyncSession, lineage: list[Model]) -> None:
    """Re-count after our writes: SQLite ignores FOR UPDATE, so a concurrent promotion
    that read the lineage before we wrote is caught here and rolled back instead."""
    await session.flush()
    count = await session.scalar(
        select(func.count()).select_from(Model)
        .where(Model.id.in_([m.id for m in lineage]),
               Model.stage == ModelStage.production.value))
    if (count or 0) > 1:
        raise InvalidStageChange(
            "a concurrent stage change in this lineage won; retry",
            detail={"lineage": [m.id for m in lineage]})


async def _lock_lineage(session: AsyncSession, model: Model) -> list[Model]:
    """Lock the lineage's rows (PostgreSQL) so two promotions cannot both win production."""
    ids = await lineage_ids(session, model)
    rows = await session.scalars(
        select(Model).where(Model.id.in_(ids)).order_by(Model.id)
        .with_for_update().execution_options(populate_existing=True))
    return list(rows)


def _set_stage(session: AsyncSession, model: Model, to: ModelStage, request: ChangeRequest,
               evaluation_ids: list[str]) -> StageChange:
    change = StageChange(model.id, model.stage, to.value)
    now = utcnow()
    session.add(ModelStageEvent(
        model_id=model.id, from_stage=model.stage, to_stage=to.value, actor=request.actor,
        reason=request.reason[:4000], approval_ref=request.approval_ref,
        evaluation_ids=evaluation_ids, created_at=now))
    model.stage = to.value
    model.updated_at = now
    return change


def _record(session: AsyncSession, event_type: str, change: StageChange,
            request: ChangeRequest, **data: Any) -> None:
    activity.record(
        session, tenant_id=request.tenant_id, event_type=event_type, entity_type="model",
        entity_id=change.model_id, actor=request.actor,
        data={"from": change.from_stage, "to": change.to_stage, "reason": request.reason[:500],
              "approval_ref": request.approval_ref, **data})


def _demote_production(session: AsyncSession, lineage: list[Model], keep: str,
                       to: ModelStage, request: ChangeRequest) -> list[StageChange]:
    demoted = []
    for other in lineage:
        if other.id != keep and other.stage == ModelStage.production:
            change = _set_stage(session, other, to, request, [])
            _record(session, "model.demoted", change, request, replaced_by=keep)
            demoted.append(change)
    return demoted


async def promote(
    session: AsyncSession, model_id: str, target: ModelStage, request: ChangeRequest,
    *, demote_to: ModelStage = ModelStage.staging,
) -> list[StageChange]:
    """Move a model to `target`; production is gated and demotes the lineage's current one.

    Returns the changes made, the promoted model's first. Raises `ModelNotFoundHttp`,
    `InvalidStageChange` or `PromotionBlocked`.
    """
    model = await get_model(session, model_id)
    lineage = await _lock_lineage(session, model)
    if model.stage == target:
        raise InvalidStageChange(f"model {model_id!r} is already {target.value}",
                                 detail={"model_id": model_id, "stage": model.stage})
    evaluation_ids: list[str] = []
    demoted: list[StageChange] = []
    if target == ModelStage.production:
        report = await check_gate(session, model, request.tenant_id)
        if not report.passed:
            raise PromotionBlocked(
                f"model {model_id!r} does not meet its evaluation policy",
                detail={"model_id": model_id, "target_stage": target.value,
                        "failures": [f.as_dict() for f in report.failures]})
        evaluation_ids = report.evaluation_ids
        demoted = _demote_production(session, lineage, model.id, demote_to, request)
    change = _set_stage(session, model, target, request, evaluation_ids)
    _record(session, "model.promoted", change, request, evaluation_ids=evaluation_ids,
            demoted=[d.model_id for d in demoted])
    await _ensure_single_production(session, lineage)
    return [change, *demoted]


async def _previous_production(session: AsyncSession, lineage: list[Model],
                               current: str | None) -> Model:
    """The model that held production before `current`: the newest event leaving production."""
    ids = [m.id for m in lineage if m.id != current]
    event = await session.scalar(
        select(ModelStageEvent)
        .where(ModelStageEvent.model_id.in_(ids),
               ModelStageEvent.from_stage == ModelStage.production.value)
        .order_by(ModelStageEvent.id.desc()).limit(1))
    if event is None:
        raise NothingToRollBack("no earlier production model in this lineage",
                                detail={"current_production": current})
    return next(m for m in lineage if m.id == event.model_id)


async def rollback(
    session: AsyncSession, model_id: str, request: ChangeRequest,
    *, demote_to: ModelStage = ModelStage.archived,
) -> list[StageChange]:
    """Return the lineage's previous production model to production, ungated.

    `model_id` names any model of the lineage. The current production model (if any)
    moves to `demote_to`. Returns the changes, the restored model's first.
    """
    model = await get_model(session, model_id)
    lineage = await _lock_lineage(session, model)
    current = next((m for m in lineage if m.stage == ModelStage.production), None)
    previous = await _previous_production(session, lineage, current.id if current else None)
    demoted = _demote_production(session, lineage, previous.id, demote_to, request)
    change = _set_stage(session, previous, ModelStage.production, request, [])
    _record(session, "model.rolled_back", change, request,
            replaced=[d.model_id for d in demoted])
    await _ensure_single_production(session, lineage)
    return [change, *demoted]
