"""POST /api/v1/evaluations/preflight: estimates for a submission body; nothing is stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import PrincipalDep, UnitOfWorkDep
from api.errors import responses
from api.evaluation_service import check_config
from api.schemas import EvaluationCreate
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.preflight import preflight

router = APIRouter(prefix="/evaluations", tags=["evaluations"], route_class=TextCheckedRoute)


class PreflightOut(BaseModel):
    ok: bool
    warnings: list[str]
    errors: list[str]
    estimate: dict[str, Any] = Field(
        description="memory (weights, inference, total MiB and the dtype), "
        "expected_duration_s and based_on_runs, datasets (rows, compatibility).")


@router.post("/preflight", response_model=PreflightOut,
             responses=responses(errors.Unauthorized, errors.RateLimited, errors.InvalidConfig),
             summary="Will it fit, how long, can it use its data? Stores nothing")
async def preflight_evaluation(body: EvaluationCreate, request: Request,
                               principal: PrincipalDep, uow: UnitOfWorkDep) -> PreflightOut:
    # Past this server's limits the body is not a valid request (its document says so).
    check_config(body, request.app.state.settings, request.app.state.gpu_count)
    async with uow.begin() as session:
        report = await preflight(
            session, principal, model_id=body.model_id, kind=body.kind,
            memory_mb=body.config.memory_mb, gpus=body.config.gpus,
            host_gpus=request.app.state.gpu_count, datasets=body.datasets)
        await session.rollback()
    return PreflightOut(ok=report.ok, warnings=report.warnings, errors=report.errors,
                        estimate=report.estimate)
