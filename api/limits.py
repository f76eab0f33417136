"""Rate limits and quotas in Redis, shared by every API replica.

Rate: two fixed windows per key (a second for bursts, a minute for the rate),
counted by one Lua script so concurrent replicas cannot both slip under a limit.
Quotas: live evaluations per tenant (`evalpod.live_quota`) and GPU-seconds per tenant and
UTC day; a submit takes both with its rate count in one round trip (`api.admission`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from evalpod.errors import QuotaExceeded, RateLimited
from evalpod.keys import AUTH_EPOCH_KEY, Principal
from evalpod.lua import LuaScript
from evalpod.settings import Settings

# KEYS: second window, minute window, auth epoch. ARGV: burst limit, minute limit.
# Returns {allowed, second_count, minute_count, second_ttl_ms, minute_ttl_ms, auth_epoch}:
# the epoch rides along so the principal cache is checked without another round trip.
_RATE_SCRIPT = LuaScript("""
local s = redis.call('INCR', KEYS[1])
if s == 1 then redis.call('PEXPIRE', KEYS[1], 1000) end
local m = redis.call('INCR', KEYS[2])
if m == 1 then redis.call('PEXPIRE', KEYS[2], 60000) end
local allowed = 1
if s > tonumber(ARGV[1]) or m > tonumber(ARGV[2]) then allowed = 0 end
return {allowed, s, m, redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[2]),
        redis.call('GET', KEYS[3]) or '0'}
""")


@dataclass(frozen=True)
class RateVerdict:
    """One request counted against its key's windows, and the auth epoch seen meanwhile."""

    allowed: bool
    auth_epoch: str
    error: RateLimited | None = None

    def enforce(self) -> None:
        if self.error is not None:
            raise self.error


def limit_of(principal: Principal, name: str, default: int) -> int:
    """The tenant's override of limit `name`, else the server's `default`."""
    value = principal.limits.get(name, default)
    return int(value) if isinstance(value, int | float) else default


async def count_request(redis: Redis, principal: Principal, settings: Settings
                        ) -> RateVerdict:
    """Count this request; the verdict says whether it is allowed (`enforce` raises if not)."""
    burst = limit_of(principal, "burst_per_second", settings.rate_burst_per_second)
    per_minute = limit_of(principal, "requests_per_minute", settings.rate_per_minute)
    now = int(time.time())
    keys = [f"evalpod:rate:{principal.key_id}:s:{now}",
            f"evalpod:rate:{principal.key_id}:m:{now // 60}", AUTH_EPOCH_KEY]
    reply: list[Any] = await _RATE_SCRIPT(redis, keys, [burst, per_minute])
    allowed, second, minute, second_ttl, minute_ttl = (int(v) for v in reply[:5])
    epoch = reply[5].decode() if isinstance(reply[5], bytes) else str(reply[5])
    if allowed:
        return RateVerdict(True, epoch)
    return RateVerdict(False, epoch, rate_limited(per_minute, burst, minute, second,
                                                  minute_ttl, second_ttl))


def rate_limited(per_minute: int, burst: int, minute: int, second: int, minute_ttl: int,
                  second_ttl: int) -> RateLimited:
    over_minute = minute > per_minute
    wait_ms = minute_ttl if over_minute else second_ttl
    retry_after = max(1, -(-max(wait_ms, 0) // 1000))
    return RateLimited(
        "too many requests" + (" this minute" if over_minute else " this second"),
        detail={
            "limit_per_minute": per_minute, "remaining_this_minute": max(0, per_minute - minute),
            "burst_per_second": burst, "remaining_this_second": max(0, burst - second),
            "retry_after_s": retry_after,
        },
        headers={"Retry-After": str(retry_after)},
    )


def quota_exceeded_live(limit: int, used: int) -> QuotaExceeded:
    return QuotaExceeded(
        f"{used} evaluations are live; the limit is {limit}",
        detail={"quota": "max_live_evaluations", "limit": limit, "used": used,
                "remaining": 0, "retry_after_s": 30},
        headers={"Retry-After": "30"},
    )


def _seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    return 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)


def gpu_seconds_key(principal: Principal) -> str:
    return f"evalpod:gpusec:{principal.tenant_id}:{datetime.now(UTC):%Y%m%d}"


def quota_exceeded_gpu(gpu_seconds: int, limit: int, used: int) -> QuotaExceeded:
    left = max(0, limit - used)
    retry = _seconds_to_midnight()
    return QuotaExceeded(
        f"this needs {gpu_seconds} GPU-seconds; {left} are left today",
        detail={"quota": "gpu_seconds_per_day", "limit": limit, "used": used,
                "remaining": left, "retry_after_s": retry},
        headers={"Retry-After": str(retry)},
    )


def effective_limits(principal: Principal, settings: Settings) -> dict[str, int]:
    """The limits that apply to this caller: its tenant's overrides, else the server's."""
    return {
        "requests_per_minute": limit_of(principal, "requests_per_minute", settings.rate_per_minute),
        "burst_per_second": limit_of(principal, "burst_per_second",
                                     settings.rate_burst_per_second),
        "max_live_evaluations": limit_of(principal, "max_live_evaluations",
                                         settings.max_live_evaluations),
        "gpu_seconds_per_day": limit_of(principal, "gpu_seconds_per_day",
                                        settings.gpu_seconds_per_day),
    }


async def requests_this_minute(redis: Redis, principal: Principal) -> int:
    """Requests this key made in the current minute window (this one included)."""
    value = await redis.get(f"evalpod:rate:{principal.key_id}:m:{int(time.time()) // 60}")
    return int(value or 0)


async def gpu_seconds_used_today(redis: Redis, principal: Principal) -> int:
    """GPU-seconds (gpus x timeout) the tenant reserved this UTC day."""
    return max(0, int(await redis.get(gpu_seconds_key(principal)) or 0))
