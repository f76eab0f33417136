"""Prometheus metrics of the API process, and the /metrics route."""

from __future__ import annotations

from collections.abc import Iterator

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
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from evalpod import queue, stage_metrics
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


class StageDurations(Collector):
    """`evalpod_stage_duration_seconds`: the histogram the workers keep in Redis
    (`evalpod.stage_metrics`), as last read by `refresh`."""

    def __init__(self) -> None:
        self.snapshot: list[stage_metrics.StageHistogram] = []

    async def refresh(self, redis: ArqRedis) -> None:
        self.snapshot = await stage_metrics.read(redis)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "evalpod_stage_duration_seconds",
            "Seconds spent validating (static analysis and trial) and running evaluations, "
            "recorded by the workers", labels=["stage"])
        for histogram in self.snapshot:
            family.add_metric([histogram.stage], histogram.buckets, histogram.sum_s)
        yield family


STAGE_SECONDS = StageDurations()
REGISTRY.register(STAGE_SECONDS)
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
    await STAGE_SECONDS.refresh(redis)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    await _refresh_gauges(request.app.state.db, request.app.state.redis)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
