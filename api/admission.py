"""Admission of a submit in one Redis round trip: the request's rate count, a live slot and
the GPU-seconds reservation, taken by one Lua script instead of three.

The script takes them in the order submit checks them (rate, then live slot, then
GPU-seconds), all or nothing: a refused rate takes no quota, a refused GPU-seconds
reservation gives its slot back. The verdicts are enforced where submit always checked
them: the rate before anything else, the quotas after the script, model and idempotency
checks. So the quotas are held while those checks run; a submit those checks refuse
hands them back (`Admission.refund`), as a submit that fails to commit does. A submit of
a tenant at its limit can meanwhile see the slot of a submit that is about to be refused
as taken: the same short window as a slot held during the insert.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from api.limits import gpu_seconds_key, limit_of, quota_exceeded_gpu, quota_exceeded_live
from api.limits import rate_limited as rate_limited_error
from evalpod.errors import QuotaExceeded, RateLimited
from evalpod.keys import AUTH_EPOCH_KEY, Principal
from evalpod.live_quota import KEY_PREFIX as LIVE_KEY_PREFIX
from evalpod.lua import LuaScript, ScriptBatcher
from evalpod.settings import Settings

GPU_SECONDS_TTL_S = 2 * 86_400

# KEYS: rate second window, rate minute window, auth epoch, live counter, GPU-seconds today.
# ARGV: count the rate (1/0), burst limit, minute limit, live limit, GPU-seconds asked,
# GPU-seconds limit, GPU-seconds TTL.
# Returns {rate allowed, second count, minute count, second TTL ms, minute TTL ms, epoch,
#          slot free (1/0), live count, GPU-seconds free (1/0), GPU-seconds used before}.
# A slot counts as taken only when the GPU-seconds were free too.
_ADMIT = LuaScript("""
local s, m, sttl, mttl, epoch = 0, 0, 0, 0, '0'
if ARGV[1] == '1' then
  s = redis.call('INCR', KEYS[1])
  if s == 1 then redis.call('PEXPIRE', KEYS[1], 1000) end
  m = redis.call('INCR', KEYS[2])
  if m == 1 then redis.call('PEXPIRE', KEYS[2], 60000) end
  sttl = redis.call('PTTL', KEYS[1])
  mttl = redis.call('PTTL', KEYS[2])
  epoch = redis.call('GET', KEYS[3]) or '0'
  if s > tonumber(ARGV[2]) or m > tonumber(ARGV[3]) then
    return {0, s, m, sttl, mttl, epoch, 0, 0, 0, 0}
  end
end
local live = redis.call('INCR', KEYS[4])
if live > tonumber(ARGV[4]) then
  redis.call('DECR', KEYS[4])
  return {1, s, m, sttl, mttl, epoch, 0, live - 1, 0, 0}
end
local ask = tonumber(ARGV[5])
if ask <= 0 then return {1, s, m, sttl, mttl, epoch, 1, live, 1, 0} end
local used = tonumber(redis.call('GET', KEYS[5]) or '0')
if used + ask > tonumber(ARGV[6]) then
  redis.call('DECR', KEYS[4])
  return {1, s, m, sttl, mttl, epoch, 1, live, 0, used}
end
redis.call('INCRBY', KEYS[5], ask)
redis.call('EXPIRE', KEYS[5], ARGV[7])
return {1, s, m, sttl, mttl, epoch, 1, live, 1, used}
""")

# KEYS: live counter, GPU-seconds today. ARGV: give the slot back (1/0), GPU-seconds.
# The slot never goes below zero (a resync may already have dropped it).
_REFUND = LuaScript("""
if ARGV[1] == '1' then
  local used = tonumber(redis.call('GET', KEYS[1]) or '0')
  if used > 0 then redis.call('DECR', KEYS[1]) end
end
if tonumber(ARGV[2]) > 0 then redis.call('DECRBY', KEYS[2], ARGV[2]) end
return 1
""")


@dataclass
class Admission:
    """What one admission took. `rate_error` is enforced first, `quota_error` where the
    quotas are checked; `held` says whether the slot and GPU-seconds are held now."""

    principal: Principal
    gpu_seconds: int
    gpu_key: str
    held: bool
    auth_epoch: str
    rate_error: RateLimited | None = None
    quota_error: QuotaExceeded | None = None

    def enforce_rate(self) -> None:
        if self.rate_error is not None:
            raise self.rate_error

    def enforce_quota(self) -> None:
        if self.quota_error is not None:
            raise self.quota_error

    def keep(self) -> None:
        """The quotas now belong to a stored evaluation (its terminal hook gives the slot
        back): `refund` does nothing from here on."""
        self.held = False

    async def refund(self, redis: Redis) -> None:
        """Give back the slot and GPU-seconds if held (once); one round trip."""
        if not self.held:
            return
        self.held = False
        await _REFUND(redis, [LIVE_KEY_PREFIX + self.principal.tenant_id, self.gpu_key],
                      [1, self.gpu_seconds])


@dataclass(frozen=True)
class _Ask:
    """What one admission asks for, under the limits that apply to its principal."""

    principal: Principal
    gpu_seconds: int
    gpu_key: str
    burst: int
    per_minute: int
    live_limit: int
    gpu_limit: int

    def keys(self) -> list[str]:
        now = int(time.time())
        key_id, tenant_id = self.principal.key_id, self.principal.tenant_id
        return [f"evalpod:rate:{key_id}:s:{now}", f"evalpod:rate:{key_id}:m:{now // 60}",
                AUTH_EPOCH_KEY, LIVE_KEY_PREFIX + tenant_id, self.gpu_key]

    def args(self, count_rate: bool) -> list[Any]:
        return [1 if count_rate else 0, self.burst, self.per_minute, self.live_limit,
                self.gpu_seconds, self.gpu_limit, GPU_SECONDS_TTL_S]

    def verdicts(self, reply: list[Any]) -> Admission:
        allowed, second, minute, second_ttl, minute_ttl = (int(v) for v in reply[:5])
        epoch = reply[5].decode() if isinstance(reply[5], bytes) else str(reply[5])
        slot_free, live, gpu_free, gpu_used = (int(v) for v in reply[6:])
        admission = Admission(self.principal, self.gpu_seconds, self.gpu_key,
                              held=bool(allowed and slot_free and gpu_free), auth_epoch=epoch)
        if not allowed:
            admission.rate_error = rate_limited_error(self.per_minute, self.burst, minute,
                                                      second, minute_ttl, second_ttl)
        elif not slot_free:
            admission.quota_error = quota_exceeded_live(self.live_limit, live)
        elif not gpu_free:
            admission.quota_error = quota_exceeded_gpu(self.gpu_seconds, self.gpu_limit,
                                                       gpu_used)
        return admission


async def admit(redis: Redis, principal: Principal, settings: Settings, gpu_seconds: int,
                *, count_rate: bool, batcher: ScriptBatcher | None = None) -> Admission:
    """Count the request (with `count_rate`) and take a live slot and `gpu_seconds`
    (gpus x timeout_s) for today, in one round trip (shared with concurrent calls through
    `batcher`). Raises only Redis's errors: the verdicts are in the `Admission`."""
    ask = _Ask(
        principal, max(gpu_seconds, 0), gpu_seconds_key(principal),
        burst=limit_of(principal, "burst_per_second", settings.rate_burst_per_second),
        per_minute=limit_of(principal, "requests_per_minute", settings.rate_per_minute),
        live_limit=limit_of(principal, "max_live_evaluations", settings.max_live_evaluations),
        gpu_limit=limit_of(principal, "gpu_seconds_per_day", settings.gpu_seconds_per_day),
    )
    if batcher is None:
        return ask.verdicts(await _ADMIT(redis, ask.keys(), ask.args(count_rate)))
    done = batcher.call(_ADMIT, ask.keys(), ask.args(count_rate))
    try:
        return ask.verdicts(await asyncio.shield(done))
    except asyncio.CancelledError:
        # The call may still run: what it takes is not this request's to keep.
        with contextlib.suppress(BaseException):
            await ask.verdicts(await done).refund(redis)
        raise
