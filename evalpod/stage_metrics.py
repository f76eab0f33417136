"""Stage durations as a Prometheus histogram shared by every process, kept in Redis.

Validation and runs happen in worker processes while `/metrics` is served by the API,
so each worker adds what it measured to one Redis hash per stage (cumulative bucket
counts, count and sum, in one round trip), and the API exposes the hashes as the
histogram `evalpod_stage_duration_seconds{stage=...}`. The counts only grow; a Redis
restart resets them, which Prometheus treats as a counter reset.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from redis.asyncio import Redis

log = logging.getLogger("evalpod.stage_metrics")
KEY_PREFIX = "evalpod:metrics:stage:"
STAGES = ("validation", "run")
# Seconds: validation is seconds to a minute, runs seconds to a day.
BUCKETS: tuple[float, ...] = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200,
                              21600, 86400)


def _bucket_field(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


@dataclass(frozen=True)
class StageHistogram:
    """Cumulative counts per upper bound (the last is +Inf), the sum of seconds."""

    stage: str
    buckets: list[tuple[str, int]]
    sum_s: float


async def observe(redis: Redis, stage: str, seconds: float) -> None:
    """Add one duration to `stage`'s histogram. Never raises: a metric must not fail a job."""
    if stage not in STAGES or not math.isfinite(seconds):
        return
    seconds = max(0.0, seconds)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            key = KEY_PREFIX + stage
            for bound in (*BUCKETS, math.inf):
                if seconds <= bound:
                    pipe.hincrby(key, _bucket_field(bound), 1)
            pipe.hincrbyfloat(key, "sum", seconds)
            await pipe.execute()
    except Exception:
        log.warning("stage duration of %s not recorded", stage, exc_info=True)


async def read(redis: Redis) -> list[StageHistogram]:
    """Every stage's histogram (zeros for a stage nothing was recorded for yet)."""
    histograms = []
    for stage in STAGES:
        raw = await redis.hgetall(KEY_PREFIX + stage)  # type: ignore[misc]
        fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
        buckets = [(_bucket_field(bound), int(fields.get(_bucket_field(bound), 0)))
                   for bound in (*BUCKETS, math.inf)]
        histograms.append(StageHistogram(stage, buckets, float(fields.get("sum", 0.0))))
    return histograms
