"""Prometheus metrics of the API process, and the /metrics route."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

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
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from pydantic import ValidationError
from sqlalchemy import func, select

from api.text import TextCheckedRoute
from evalpod import queue, stage_metrics
from evalpod.db import Database
from evalpod.orm import Evaluation
from evalpod.workers import published_statuses
from orchestrator.local.pool import PoolKeyStatus, PoolStatus

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


def merge_pools(pools: Iterable[PoolStatus]) -> PoolStatus:
    """Several workers' pools as one: counts summed, and sandboxes summed per key."""
    keys: dict[tuple[object, ...], PoolKeyStatus] = {}
    merged = PoolStatus(keys=[])
    for pool in pools:
        merged.hits += pool.hits
        merged.waits += pool.waits
        merged.misses += pool.misses
        for key in pool.keys:
            same = (key.model, key.gpus, key.cpus, key.disk_mb)
            if (seen := keys.get(same)) is None:
                keys[same] = key.model_copy()
                continue
            seen.ready += key.ready
            seen.warming += key.warming
            seen.target += key.target
    merged.keys = list(keys.values())
    return merged


async def published_pools(redis: ArqRedis) -> dict[str, PoolStatus]:
    """The warm pools the live workers published with their heartbeats, merged per role
    (`validator`: trial sandboxes on shadows, `orchestrator`: runs on models)."""
    by_role: dict[str, list[PoolStatus]] = {}
    for status in await published_statuses(redis):
        if (raw := status.get("warm_pool")) is None:
            continue
        try:
            pool = PoolStatus.model_validate(raw)
        except ValidationError:
            continue  # a worker of another version: its pool is left out
        by_role.setdefault(str(status.get("role", "unknown")), []).append(pool)
    return {role: merge_pools(pools) for role, pools in sorted(by_role.items())}


class WarmPools(Collector):
    """`evalpod_warm_pool_*`: the local backend's warm sandboxes per role and key, and how
    jobs fared taking them, as the workers last published them (`refresh`)."""

    def __init__(self) -> None:
        self.snapshot: dict[str, PoolStatus] = {}

    async def refresh(self, redis: ArqRedis) -> None:
        self.snapshot = await published_pools(redis)

    def collect(self) -> Iterator[Metric]:
        labels = ["role", "model", "gpus"]
        sandboxes = {
            "ready": GaugeMetricFamily(
                "evalpod_warm_pool_ready_sandboxes",
                "Warm sandboxes ready for a job, per pool key", labels=labels),
            "warming": GaugeMetricFamily(
                "evalpod_warm_pool_warming_sandboxes",
                "Warm sandboxes still warming up, per pool key", labels=labels),
            "target": GaugeMetricFamily(
                "evalpod_warm_pool_target_sandboxes",
                "Ready sandboxes each pool key is kept at while in use", labels=labels),
        }
        takes = {
            "hits": CounterMetricFamily(
                "evalpod_warm_pool_hits", "Jobs given a ready warm sandbox", labels=["role"]),
            "waits": CounterMetricFamily(
                "evalpod_warm_pool_waits",
                "Jobs that claimed a warm sandbox still warming and waited for it",
                labels=["role"]),
            "misses": CounterMetricFamily(
                "evalpod_warm_pool_misses",
                "Jobs the warm pool could have served that started cold", labels=["role"]),
        }
        for role, pool in self.snapshot.items():
            for key in pool.keys:
                values = [role, key.model or "", ",".join(map(str, key.gpus))]
                for name, gauge in sandboxes.items():
                    gauge.add_metric(values, getattr(key, name))
            for name, counter in takes.items():
                counter.add_metric([role], getattr(pool, name))
        yield from sandboxes.values()
        yield from takes.values()


WARM_POOLS = WarmPools()
REGISTRY.register(WARM_POOLS)
KILLS = Gauge("evalpod_kills", "Killed evaluations by violation kind", ["kind"],
              registry=REGISTRY)

router = APIRouter(include_in_schema=True, tags=["health"], route_class=TextCheckedRoute)


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
    await WARM_POOLS.refresh(redis)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    await _refresh_gauges(request.app.state.db, request.app.state.redis)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
