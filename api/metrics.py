"""Prometheus metrics of the API process, and the /metrics route."""

from __future__ import annotations

from arq.connections import ArqRedis
from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select

from evalpod import queue
from evalpod.db import Database
from evalpod.orm import Evaluation

REGISTRY = CollectorRegistry()
REQUESTS = Counter("evalpod_http_requests_total", "HTTP requests", ["route", "method", "code"],
                   registry=REGISTRY)
LATENCY = Histogram(
    "evalpod_http_request_duration_seconds", "HTTP request latency", ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=REGISTRY,
)
EVALUATIONS = Gauge("evalpod_evaluations", "Evaluations by status", ["status"],
                    registry=REGISTRY)
QUEUE_DEPTH = Gauge("evalpod_queue_depth", "Jobs waiting in each queue", ["queue"],
                    registry=REGISTRY)
STAGE_SECONDS = Gauge(
    "evalpod_stage_duration_seconds",
    "Validation and run durations over the last finished evaluations (from the database, "
    "since the stages run in worker processes)", ["stage", "quantile"], registry=REGISTRY,
)
STAGE_SAMPLE = 1000
KILLS = Gauge("evalpod_kills", "Killed evaluations by violation kind", ["kind"],
              registry=REGISTRY)

router = APIRouter(include_in_schema=True, tags=["health"])


async def _refresh_gauges(db: Database, redis: ArqRedis) -> None:
    async with db.session() as session:
        rows = await session.execute(
            select(Evaluation.status, func.count()).group_by(Evaluation.status)
        )
        EVALUATIONS.clear()
        for status, count in rows:
            EVALUATIONS.labels(status=status).set(count)
        kind = Evaluation.violation["kind"].as_string()
        kills = await session.execute(
            select(kind, func.count()).where(Evaluation.status == "killed").group_by(kind)
        )
        KILLS.clear()
        for violation_kind, count in kills:
            KILLS.labels(kind=violation_kind or "unknown").set(count)
    for name, count in (await queue.depth(redis)).items():
        QUEUE_DEPTH.labels(queue=name).set(count)
    await _refresh_stage_durations(db)


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {q: ordered[min(len(ordered) - 1, int(float(q) * len(ordered)))]
            for q in ("0.5", "0.95", "0.99")}


async def _refresh_stage_durations(db: Database) -> None:
    async with db.session() as session:
        rows = (await session.execute(
            select(Evaluation.created_at, Evaluation.validated_at, Evaluation.started_at,
                   Evaluation.finished_at)
            .where(Evaluation.finished_at.is_not(None))
            .order_by(Evaluation.finished_at.desc()).limit(STAGE_SAMPLE)
        )).all()
    validation = [(v - c).total_seconds() for c, v, _, _ in rows if v is not None]
    run = [(f - s).total_seconds() for _, _, s, f in rows if s is not None and f is not None]
    STAGE_SECONDS.clear()
    for stage, values in (("validation", validation), ("run", run)):
        for quantile, seconds in _quantiles(values).items():
            STAGE_SECONDS.labels(stage=stage, quantile=quantile).set(seconds)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    await _refresh_gauges(request.app.state.db, request.app.state.redis)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
