"""Work delivery over Redis (arq). The database is the truth; a queued job is only a nudge.

Priority: arq runs the lowest sorted-set score first, and only scores <= now. A job's
score is its enqueue time minus `(priority + PRIORITY_OFFSET) * PRIORITY_STEP`: always in
the past (so even priority -100 runs), higher priority first, FIFO within one, and a job
that waited a whole step ranks with the next priority up (no starvation).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from evalpod.lua import LuaScript

VALIDATE_QUEUE = "evalpod:queue:validate"
EXECUTE_QUEUE = "evalpod:queue:execute"
VALIDATE_FUNCTION = "validate_evaluation"
EXECUTE_FUNCTION = "execute_evaluation"
CALLBACK_QUEUE = "evalpod:queue:callbacks"
CALLBACK_FUNCTION = "deliver_callback"
PRIORITY_STEP = timedelta(days=1)
PRIORITY_OFFSET = 101
JOB_EXPIRY = timedelta(days=7)

Stage = Literal["validate", "execute"]
QUEUES: dict[Stage, tuple[str, str]] = {
    "validate": (VALIDATE_QUEUE, VALIDATE_FUNCTION),
    "execute": (EXECUTE_QUEUE, EXECUTE_FUNCTION),
}


@dataclass(frozen=True)
class QueuedJob:
    """A job to send after the transaction that created it commits."""

    stage: Stage
    evaluation_id: str
    job_id: str
    priority: int


def new_job(stage: Stage, evaluation_id: str, priority: int) -> QueuedJob:
    return QueuedJob(stage, evaluation_id, f"{stage}:{evaluation_id}:{uuid.uuid4().hex[:8]}",
                     priority)


def redis_settings(dsn: str) -> RedisSettings:
    return RedisSettings.from_dsn(dsn)


async def connect(dsn: str) -> ArqRedis:
    """A lazily connecting client: the API starts (and reports 503) while Redis is down."""
    client: ArqRedis = ArqRedis.from_url(dsn)
    return client


def _score_time(priority: int) -> datetime:
    return datetime.now(UTC) - PRIORITY_STEP * (priority + PRIORITY_OFFSET)


# What arq's enqueue_job does (skip a job id already queued or finished; store the job;
# add it to the queue) in one atomic round trip instead of WATCH, EXISTS and MULTI/EXEC.
# KEYS: job key, result key, queue. ARGV: expiry ms, serialised job, score, job id.
# Returns the job's 1-based place in its queue, or 0 if the job id was already known.
_ENQUEUE = LuaScript("""
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return redis.call('ZRANK', KEYS[3], ARGV[4]) + 1
""")


async def send(redis: ArqRedis, job: QueuedJob, delay: timedelta = timedelta(0)) -> int | None:
    """Queue `job` for its stage's worker: its 1-based place, or None if arq already had it.

    The place is the job's rank in the queue's sorted set, i.e. the order workers take
    jobs in (priority, then age), counted in O(log n) however deep the queue is.
    """
    queue_name, function = QUEUES[job.stage]
    # A delayed retry waits its turn in time instead of jumping the queue by priority.
    run_at = datetime.now(UTC) + delay if delay else _score_time(job.priority)
    expires_ms = int((JOB_EXPIRY + delay).total_seconds() * 1000)
    payload = serialize_job(function, (job.evaluation_id,), {}, None, timestamp_ms(),
                            serializer=redis.job_serializer)
    place = await _ENQUEUE(
        redis,
        [job_key_prefix + job.job_id, result_key_prefix + job.job_id, queue_name],
        [expires_ms, payload, int(run_at.timestamp() * 1000), job.job_id],
    )
    return int(place) or None


async def send_all(redis: ArqRedis, jobs: list[QueuedJob]) -> dict[str, int | None]:
    """Send each job; their places by job id."""
    return {job.job_id: await send(redis, job) for job in jobs}


async def position(redis: ArqRedis, stage: Stage, job_id: str | None) -> int | None:
    """1-based place of a queued job (jobs being picked up count as ahead); None if absent."""
    if not job_id:
        return None
    rank = await redis.zrank(QUEUES[stage][0], job_id)
    return None if rank is None else int(rank) + 1


async def is_pending(redis: ArqRedis, job_id: str | None) -> bool:
    """Whether arq still holds the job (queued or running)."""
    if not job_id:
        return False
    found = await redis.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id)
    return bool(found)


async def reprioritise(redis: ArqRedis, job: QueuedJob) -> None:
    queue_name, _ = QUEUES[job.stage]
    score = int(_score_time(job.priority).timestamp() * 1000)
    await redis.zadd(queue_name, {job.job_id: score}, xx=True)


async def depth(redis: ArqRedis) -> dict[str, int]:
    return {stage: int(await redis.zcard(name)) for stage, (name, _) in QUEUES.items()}
