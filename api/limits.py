"""Rate limits and quotas in Redis, shared by every API replica.

Rate: two fixed windows per key (a second for bursts, a minute for the rate),
counted by one Lua script so concurrent replicas cannot both slip under a limit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from evalpod.errors import QuotaExceeded, RateLimited
from evalpod.keys import Principal
from evalpod.lifecycle import LIVE
from evalpod.orm import Evaluation
from evalpod.settings import Settings

# KEYS: second window, minute window. ARGV: burst limit, minute limit.
# Returns {allowed, second_count, minute_count, second_ttl_ms, minute_ttl_ms}.
_RATE_SCRIPT = """
local s = redis.call('INCR', KEYS[1])
if s == 1 then redis.call('PEXPIRE', KEYS[1], 1000) end
local m = redis.call('INCR', KEYS[2])
if m == 1 then redis.call('PEXPIRE', KEYS[2], 60000) end
local allowed = 1
if s > tonumber(ARGV[1]) or m > tonumber(ARGV[2]) then allowed = 0 end
return {allowed, s, m, redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[2])}
"""


def _limit(principal: Principal, name: str, default: int) -> int:
    value = principal.limits.get(name, default)
    return int(value) if isinstance(value, int | float) else default


async def check_rate(redis: Redis, principal: Principal, settings: Settings) -> None:
    burst = _limit(principal, "burst_per_second", settings.rate_burst_per_second)
    per_minute = _limit(principal, "requests_per_minute", settings.rate_per_minute)
    now = int(time.time())
    keys = [f"evalpod:rate:{principal.key_id}:s:{now}",
            f"evalpod:rate:{principal.key_id}:m:{now // 60}"]
    reply: list[int] = await redis.eval(  # type: ignore[misc]
        _RATE_SCRIPT, 2, *keys, str(burst), str(per_minute)
    )
    allowed, second, minute, second_ttl, minute_ttl = (int(v) for v in reply)
    if allowed:
        return
    over_minute = minute > per_minute
    wait_ms = minute_ttl if over_minute else second_ttl
    retry_after = max(1, -(-max(wait_ms, 0) // 1000))
    raise RateLimited(
        "too many requests" + (" this minute" if over_minute else " this second"),
        detail={
            "limit_per_minute": per_minute, "remaining_this_minute": max(0, per_minute - minute),
            "burst_per_second": burst, "remaining_this_second": max(0, burst - second),
            "retry_after_s": retry_after,
        },
        headers={"Retry-After": str(retry_after)},
    )


async def check_live_quota(
    session: AsyncSession, principal: Principal, settings: Settings
) -> None:
    limit = _limit(principal, "max_live_evaluations", settings.max_live_evaluations)
    # Counting stops at the limit: a tenant with a deep backlog costs the same as one without.
    bounded = (
        select(Evaluation.id).where(
            Evaluation.tenant_id == principal.tenant_id,
            Evaluation.status.in_([s.value for s in LIVE]),
        ).limit(limit).subquery()
    )
    live = await session.scalar(select(func.count()).select_from(bounded))
    if int(live or 0) >= limit:
        raise QuotaExceeded(
            f"{live} evaluations are live; the limit is {limit}",
            detail={"quota": "max_live_evaluations", "limit": limit, "used": int(live or 0),
                    "remaining": 0, "retry_after_s": 30},
            headers={"Retry-After": "30"},
        )


def _seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    return 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)


async def reserve_gpu_seconds(
    redis: Redis, principal: Principal, settings: Settings, gpu_seconds: int
) -> None:
    """Reserve gpus x timeout for today; the reservation is returned if the submit fails."""
    if gpu_seconds <= 0:
        return
    limit = _limit(principal, "gpu_seconds_per_day", settings.gpu_seconds_per_day)
    key = f"evalpod:gpusec:{principal.tenant_id}:{datetime.now(UTC):%Y%m%d}"
    used = int(await redis.incrby(key, gpu_seconds))
    await redis.expire(key, 2 * 86_400)
    if used > limit:
        await redis.decrby(key, gpu_seconds)
        retry = _seconds_to_midnight()
        raise QuotaExceeded(
            f"this needs {gpu_seconds} GPU-seconds; {max(0, limit - used + gpu_seconds)} "
            "are left today",
            detail={"quota": "gpu_seconds_per_day", "limit": limit,
                    "used": used - gpu_seconds, "remaining": max(0, limit - used + gpu_seconds),
                    "retry_after_s": retry},
            headers={"Retry-After": str(retry)},
        )


async def release_gpu_seconds(redis: Redis, principal: Principal, gpu_seconds: int) -> None:
    if gpu_seconds > 0:
        await redis.decrby(f"evalpod:gpusec:{principal.tenant_id}:{datetime.now(UTC):%Y%m%d}",
                           gpu_seconds)
