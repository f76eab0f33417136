"""Work delivery over Redis (arq). The database is the truth; a queued job is only a nudge.

Order: arq runs the lowest sorted-set score first, and only scores <= now. A job's score
is its start tag minus `(priority + PRIORITY_OFFSET) * PRIORITY_STEP`, so a higher
priority always goes first.

Fair share across tenants (start-time fair queueing, Goyal, Vin and Cheng, SIGCOMM 1996):
each stage keeps a virtual clock `v` (the start tag of the last job a worker took) and,
per tenant, the finish tag `f` of its last queued job. A new job starts at
`max(v, f)` and moves its tenant's `f` on by `FAIR_SLOT_MS / share`. So a tenant with
one job waiting is served next even behind another tenant's backlog of hundreds; a tenant
with share 2 gets two jobs in for every one of a share-1 tenant; within a tenant, jobs
keep their priority order and then FIFO. Tags are virtual milliseconds far below the
wall clock, so every fair job is runnable at once.

A job sent without a tenant, and a delayed retry, is scored by wall time instead (runs
after every fair job of its priority once its time has come).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from evalpod.lua import LuaScript, ScriptBatcher

VALIDATE_QUEUE = "evalpod:queue:validate"
EXECUTE_QUEUE = "evalpod:queue:execute"
VALIDATE_FUNCTION = "validate_evaluation"
EXECUTE_FUNCTION = "execute_evaluation"
CALLBACK_QUEUE = "evalpod:queue:callbacks"
CALLBACK_FUNCTION = "deliver_callback"
PRIORITY_STEP = timedelta(days=1)
PRIORITY_OFFSET = 101
JOB_EXPIRY = timedelta(days=7)
FAIR_SLOT_MS = 1000
FAIR_KEY_PREFIX = "evalpod:fair:"

log = logging.getLogger(__name__)

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
    tenant_id: str | None = None  # None: no fair share (wall-clock order)
    share: float | None = None  # None: the tenant's last known share, else 1


def new_job(stage: Stage, evaluation_id: str, priority: int, tenant_id: str | None = None,
            share: float | None = None) -> QueuedJob:
    # The evaluation id makes the job id unique; the suffix tells its deliveries apart (no
    # secret: the process's PRNG spares a getrandom call per submit).
    return QueuedJob(stage, evaluation_id, f"{stage}:{evaluation_id}:{random.getrandbits(32):08x}",
                     priority, tenant_id, share)


def fair_share_of(limits: dict[str, object] | None) -> float | None:
    """A tenant's `fair_share` from its stored limits; None when unset or unusable."""
    value = (limits or {}).get("fair_share")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def fair_key(stage: Stage) -> str:
    return FAIR_KEY_PREFIX + stage


def _priority_shift_ms(priority: int) -> int:
    return int((PRIORITY_STEP * (priority + PRIORITY_OFFSET)).total_seconds() * 1000)


def redis_settings(dsn: str) -> RedisSettings:
    return RedisSettings.from_dsn(dsn)


async def connect(dsn: str) -> ArqRedis:
    """A lazily connecting client: the API starts (and reports 503) while Redis is down."""
    client: ArqRedis = ArqRedis.from_url(dsn)
    return client


def _score_time(priority: int) -> datetime:
    return datetime.now(UTC) - PRIORITY_STEP * (priority + PRIORITY_OFFSET)


# What arq's enqueue_job does (skip a job id already queued or finished; store the job;
# add it to the queue) in one atomic round trip instead of WATCH, EXISTS and MULTI/EXEC,
# with the fair-share start tag taken in the same step.
# KEYS: job key, result key, queue, the stage's fair hash.
# ARGV: expiry ms, serialised job, wall-clock score, job id, tenant ('' = no fair share),
# share ('' = the tenant's stored one), priority shift ms, slot ms.
# Returns the job's 1-based place in its queue, or 0 if the job id was already known.
_ENQUEUE = LuaScript("""
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
local score = tonumber(ARGV[3])
if ARGV[5] ~= '' then
  local tenant = ARGV[5]
  local share = tonumber(ARGV[6])
  if share then
    redis.call('HSET', KEYS[4], 'w:' .. tenant, ARGV[6])
  else
    share = tonumber(redis.call('HGET', KEYS[4], 'w:' .. tenant)) or 1
  end
  local v = tonumber(redis.call('HGET', KEYS[4], 'v')) or 0
  local f = tonumber(redis.call('HGET', KEYS[4], 'f:' .. tenant)) or 0
  local start = math.max(v, f)
  redis.call('HSET', KEYS[4], 'f:' .. tenant, tostring(start + tonumber(ARGV[8]) / share),
             's:' .. ARGV[4], tostring(start))
  score = start - tonumber(ARGV[7])
end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], score, ARGV[4])
return redis.call('ZRANK', KEYS[3], ARGV[4]) + 1
""")

# A worker took a job: the stage's virtual clock moves to that job's start tag.
# KEYS: the stage's fair hash. ARGV: job id.
_STARTED = LuaScript("""
local start = redis.call('HGET', KEYS[1], 's:' .. ARGV[1])
if not start then return 0 end
redis.call('HDEL', KEYS[1], 's:' .. ARGV[1])
local v = tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
if tonumber(start) > v then redis.call('HSET', KEYS[1], 'v', start) end
return 1
""")


async def send(redis: ArqRedis, job: QueuedJob, delay: timedelta = timedelta(0)) -> int | None:
    """Queue `job` for its stage's worker: its 1-based place, or None if arq already had it.

    The place is the job's rank in the queue's sorted set, i.e. the order workers take
    jobs in (priority, then age), counted in O(log n) however deep the queue is.
    """
    place = await _ENQUEUE(redis, *_enqueue_call(redis, job, delay))
    return int(place) or None


def _enqueue_call(redis: ArqRedis, job: QueuedJob, delay: timedelta = timedelta(0)
                  ) -> tuple[list[str], list[Any]]:
    """The keys and arguments of `_ENQUEUE` for `job`."""
    queue_name, function = QUEUES[job.stage]
    # A delayed retry waits its turn in time instead of jumping the queue by priority.
    run_at = datetime.now(UTC) + delay if delay else _score_time(job.priority)
    expires_ms = int((JOB_EXPIRY + delay).total_seconds() * 1000)
    payload = serialize_job(function, (job.evaluation_id,), {}, None, timestamp_ms(),
                            serializer=redis.job_serializer)
    fair_tenant = "" if delay or job.tenant_id is None else job.tenant_id
    share = "" if job.share is None else repr(float(job.share))
    return (
        [job_key_prefix + job.job_id, result_key_prefix + job.job_id, queue_name,
         fair_key(job.stage)],
        [expires_ms, payload, int(run_at.timestamp() * 1000), job.job_id, fair_tenant, share,
         _priority_shift_ms(job.priority), FAIR_SLOT_MS],
    )


async def send_many(redis: ArqRedis, jobs: list[QueuedJob],
                    batcher: ScriptBatcher | None = None
                    ) -> dict[str, int | BaseException | None]:
    """Send `jobs` as `send` does, in order, in one pipelined round trip (shared with other
    calls through `batcher`). By job id: its place, None if arq already had it, or the
    error that kept it from Redis."""
    if not jobs:
        return {}
    calls = [_enqueue_call(redis, job) for job in jobs]
    if batcher is None:
        replies = await _ENQUEUE.many(redis, calls)
    else:
        replies = await asyncio.gather(*(batcher.call(_ENQUEUE, keys, args)
                                         for keys, args in calls), return_exceptions=True)
    return {job.job_id: reply if isinstance(reply, BaseException) else (int(reply) or None)
            for job, reply in zip(jobs, replies, strict=True)}


async def started(redis: ArqRedis, stage: Stage, job_id: str | None) -> None:
    """Move the stage's fair-share clock to the start tag of `job_id`, which a worker took.

    Best effort, never raises: a clock that lags only lets a tenant that comes back after
    a pause in a little earlier, and the job itself must run whatever Redis says.
    """
    if not job_id:
        return
    try:
        await _STARTED(redis, [fair_key(stage)], [job_id])
    except Exception:
        log.warning("fair-share clock not moved for %s", job_id, exc_info=True)


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
    """Re-score a queued job for its new priority, keeping its fair-share start tag."""
    queue_name, _ = QUEUES[job.stage]
    start = await cast("Awaitable[bytes | None]",
                       redis.hget(fair_key(job.stage), "s:" + job.job_id))
    if start is not None:
        score = float(start) - _priority_shift_ms(job.priority)
    else:
        score = _score_time(job.priority).timestamp() * 1000
    await redis.zadd(queue_name, {job.job_id: int(score)}, xx=True)


async def depth(redis: ArqRedis) -> dict[str, int]:
    return {stage: int(await redis.zcard(name)) for stage, (name, _) in QUEUES.items()}
