"""Routes under /api/v1/benchmarks: versioned benchmarks (admin), runs, the leaderboard."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.bounded import JSON_INTEGER, JsonInt
from api.deps import AdminDep, PrincipalDep, UnitOfWorkDep
from api.errors import responses
from api.schemas import NO_NUL, DatasetRef, ModelId, RunConfig, TaskName
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.benchmarks import service
from evalpod.benchmarks.errors import BenchmarkNotFound
from evalpod.benchmarks.service import SCORER_METRICS, BenchmarkSpec, ScorerSpec
from evalpod.datasets.errors import DatasetNotFound
from evalpod.orm import Benchmark
from evalpod.settings import Settings

router = APIRouter(prefix="/benchmarks", tags=["benchmarks"], route_class=TextCheckedRoute)
AUTH_ERRORS = (errors.Unauthorized, errors.RateLimited)
ADMIN_ERRORS = (*AUTH_ERRORS, errors.Forbidden)


ScorerMetric = Literal["exact_match", "f1", "accuracy", "multiple_choice_accuracy", "bleu", "chrf"]
assert set(get_args(ScorerMetric)) == set(SCORER_METRICS)


class ScorerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: ScorerMetric = Field(
        description="exact_match, f1 (SQuAD-style), accuracy, multiple_choice_accuracy, bleu "
        "or chrf (the last two from lm-eval).")
    dataset: str = Field(min_length=1, max_length=128, pattern=NO_NUL,
                         description="Which of the benchmark's datasets holds the answers.")
    column: str = Field(min_length=1, max_length=128, pattern=NO_NUL,
                        description="Its hidden answer column.")


def _benchmark_rules(schema: dict[str, Any]) -> None:
    """`_kind_fields`, stated in the schema."""
    schema["allOf"] = [
        {"anyOf": [
            {"properties": {"kind": {"const": "script"}, "script": {"type": "string",
                                                                    "minLength": 1}},
             "required": ["script"]},
            {"properties": {"kind": {"const": "lm_eval"},
                            "script": {"anyOf": [{"type": "null"}, {"maxLength": 0}]},
                            "tasks": {"minItems": 1}},
             "required": ["kind", "tasks"]},
        ]},
        {"anyOf": [
            {"not": {"required": ["scorer"]}},
            {"properties": {"scorer": {"type": "null"}}},
            {"properties": {"datasets": {"minItems": 1}}, "required": ["datasets"]},
        ]},
    ]


class BenchmarkCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=lambda schema, _cls: _benchmark_rules(schema))

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = Field(default="", max_length=4000, pattern=NO_NUL)
    kind: Literal["script", "lm_eval"] = "script"
    script: str | None = Field(default=None, max_length=256 * 1024,
                               description="Required (not empty) for kind `script`.")
    tasks: list[TaskName] = Field(default_factory=list, max_length=32,
                                  description="At least one for kind `lm_eval`.")
    num_fewshot: JsonInt = Field(default=0, ge=0, le=32)
    limit: Annotated[int, Field(ge=1, le=100_000), JSON_INTEGER] | None = None
    datasets: list[DatasetRef] = Field(
        default_factory=list, max_length=16,
        description="Dataset versions, name@version (at least one with a scorer).")
    scorer: ScorerIn | None = Field(
        default=None, description="Trusted scoring of the script's predictions against a "
        "hidden column of one of `datasets`; without it the benchmark script's own metrics "
        "count.")
    primary_metric: str = Field(min_length=1, max_length=128, pattern=NO_NUL,
                                description="Ranks the leaderboard; lm-eval: task/metric.")
    direction: Literal["higher", "lower"] = "higher"
    config: RunConfig = Field(default_factory=RunConfig)

    @model_validator(mode="after")
    def _kind_fields(self) -> BenchmarkCreate:
        if self.kind == "script" and not self.script:
            raise ValueError("a script benchmark needs a script")
        if self.kind == "lm_eval" and (self.script or not self.tasks):
            raise ValueError("an lm-eval benchmark takes tasks, not a script")
        if self.scorer is not None and not self.datasets:
            raise ValueError("a scorer reads one of the benchmark's datasets: name them")
        return self


class BenchmarkOut(BaseModel):
    id: str
    name: str
    version: int
    description: str
    kind: str
    script_sha256: str | None
    tasks: list[str] | None
    num_fewshot: int
    limit: int | None
    dataset_versions: list[str]
    scorer: dict[str, Any] | None
    primary_metric: str
    direction: str
    config: dict[str, Any]
    created_at: datetime


class RunsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelId] = Field(min_length=1, max_length=100)
    priority: JsonInt = Field(default=0, ge=-100, le=100)


class RunOut(BaseModel):
    model_id: str
    evaluation_id: str


class RunsOut(BaseModel):
    benchmark: str = Field(description="name@version")
    runs: list[RunOut]


class LeaderboardRowOut(BaseModel):
    rank: int | None
    model_id: str
    score: float | None = Field(description="The primary metric.")
    stderr: float | None
    metrics: dict[str, float]
    evaluation_id: str
    evaluation_url: str
    finished_at: datetime | None


class LeaderboardOut(BaseModel):
    benchmark: str
    benchmark_id: str
    primary_metric: str
    direction: str
    rows: list[LeaderboardRowOut]


def benchmark_out(row: Benchmark) -> BenchmarkOut:
    return BenchmarkOut(
        id=row.id, name=row.name, version=row.version, description=row.description,
        kind=row.kind, script_sha256=row.script_sha256, tasks=row.tasks,
        num_fewshot=row.num_fewshot, limit=row.task_limit,
        dataset_versions=list(row.dataset_versions or []), scorer=row.scorer,
        primary_metric=row.primary_metric, direction=row.direction, config=row.config or {},
        created_at=row.created_at)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BenchmarkOut,
             responses=responses(*ADMIN_ERRORS, errors.InvalidConfig, errors.InvalidScript,
                                 errors.ForbiddenPattern, DatasetNotFound),
             summary="Create the next version of a benchmark (admin); analysed once, here")
async def create_benchmark(body: BenchmarkCreate, request: Request, admin: AdminDep,
                           uow: UnitOfWorkDep) -> BenchmarkOut:
    settings: Settings = request.app.state.settings
    problems = body.config.past_server_limits(settings, request.app.state.gpu_count)
    if problems:
        raise errors.InvalidConfig("config exceeds this server's limits",
                                   detail={"errors": problems})
    spec = BenchmarkSpec(
        name=body.name, primary_metric=body.primary_metric, direction=body.direction,
        description=body.description, kind=body.kind, script=body.script, tasks=body.tasks,
        num_fewshot=body.num_fewshot, limit=body.limit, datasets=body.datasets,
        scorer=ScorerSpec(**body.scorer.model_dump()) if body.scorer else None,
        config=body.config.model_dump())
    async with uow.begin() as session:
        return benchmark_out(await service.create_benchmark(session, admin, spec, settings))


@router.get("", response_model=list[BenchmarkOut], responses=responses(*AUTH_ERRORS),
            summary="Every benchmark version, newest first")
async def list_benchmarks(principal: PrincipalDep, uow: UnitOfWorkDep,
                          name: Annotated[str | None, Query(max_length=128)] = None
                          ) -> list[BenchmarkOut]:
    from sqlalchemy import select

    async with uow.begin() as session:
        query = select(Benchmark).order_by(Benchmark.name, Benchmark.version.desc())
        if name:
            query = query.where(Benchmark.name == name)
        return [benchmark_out(b) for b in await session.scalars(query.limit(500))]


@router.get("/{benchmark}", response_model=BenchmarkOut,
            responses=responses(*AUTH_ERRORS, BenchmarkNotFound),
            summary="One version: by id, name@version, or name (the latest)")
async def get_benchmark(benchmark: str, principal: PrincipalDep, uow: UnitOfWorkDep
                        ) -> BenchmarkOut:
    async with uow.begin() as session:
        return benchmark_out(await service.find_benchmark(session, benchmark))


@router.post("/{benchmark}/runs", status_code=status.HTTP_202_ACCEPTED, response_model=RunsOut,
             responses=responses(*ADMIN_ERRORS, BenchmarkNotFound, errors.ModelNotFound),
             summary="Run the benchmark version on each model (admin)")
async def run_benchmark(benchmark: str, body: RunsCreate, admin: AdminDep,
                        uow: UnitOfWorkDep) -> RunsOut:
    async with uow.begin() as session:
        found = await service.find_benchmark(session, benchmark)
        created = await service.create_runs(session, admin, found, body.models, body.priority)
        for job in service.queued_jobs(created, body.priority, tenant_id=admin.tenant_id):
            uow.enqueue(job)
        label = service.label(found)
    return RunsOut(benchmark=label,
                   runs=[RunOut(model_id=m, evaluation_id=e) for m, e in created])


@router.get("/{benchmark}/leaderboard", response_model=LeaderboardOut,
            responses=responses(*AUTH_ERRORS, BenchmarkNotFound),
            summary="Each model's latest succeeded run of this version, ranked")
async def get_leaderboard(benchmark: str, request: Request, principal: PrincipalDep,
                          uow: UnitOfWorkDep) -> LeaderboardOut:
    async with uow.begin() as session:
        found = await service.find_benchmark(session, benchmark)
        rows = await service.leaderboard(session, found)
    base = str(request.base_url).rstrip("/") + "/api/v1/evaluations/"
    return LeaderboardOut(
        benchmark=service.label(found), benchmark_id=found.id,
        primary_metric=found.primary_metric, direction=found.direction,
        rows=[LeaderboardRowOut(rank=r.rank, model_id=r.model_id, score=r.primary,
                                stderr=r.stderr, metrics=r.metrics,
                                evaluation_id=r.evaluation_id,
                                evaluation_url=base + r.evaluation_id,
                                finished_at=r.finished_at) for r in rows])
