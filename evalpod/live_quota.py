"""Live evaluations per tenant, counted in Redis so every API replica shares one limit.

A submit takes a slot atomically (INCR, and back out if over the limit) and the
terminal hook gives it back, so the quota holds under any concurrency without a
COUNT in PostgreSQL per submit. Redis is not the truth: `resync` resets every
tenant's count from the database on each reconciler pass, which heals slots leaked by
a crash between taking a slot and committing, or a terminal hook that never ran. A
resync that races an in-flight submit can under-count by that submit until the next
pass; a tenant can then briefly hold one more live evaluation than its limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from evalpod.lifecycle import LIVE
from evalpod.lua import LuaScript
from evalpod.orm import Evaluation

KEY_PREFIX = "evalpod:live:"

# KEYS: tenant counter. ARGV: limit. Returns {taken (1/0), count after}.
_TAKE = LuaScript("""
local used = redis.call('INCR', KEYS[1])
if used > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return {0, used - 1}
end
return {1, used}
""")

# Never below zero: a release after a resync already dropped the slot is a no-op.
_GIVE_BACK = LuaScript("""
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used > 0 then return redis.call('DECR', KEYS[1]) end
return 0
""")


@dataclass(frozen=True)
class Slot:
    taken: bool
    used: int


def _key(tenant_id: str) -> str:
    return KEY_PREFIX + tenant_id


async def take_slot(redis: Redis, tenant_id: str, limit: int) -> Slot:
    taken, used = await _TAKE(redis, [_key(tenant_id)], [limit])
    return Slot(bool(taken), int(used))


async def give_back_slot(redis: Redis, tenant_id: str) -> None:
    await _GIVE_BACK(redis, [_key(tenant_id)], [])


async def live_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Evaluation.tenant_id, func.count())
        .where(Evaluation.status.in_([s.value for s in LIVE]))
        .group_by(Evaluation.tenant_id)
    )
    return {tenant_id: int(count) for tenant_id, count in rows.tuples()}


async def resync(redis: Redis, counts: dict[str, int]) -> None:
    """Make Redis agree with the database's live counts; tenants with none are dropped."""
    stale = [key async for key in redis.scan_iter(match=KEY_PREFIX + "*", count=500)]
    async with redis.pipeline(transaction=False) as pipe:
        for key in stale:
            name = key.decode() if isinstance(key, bytes) else str(key)
            if name.removeprefix(KEY_PREFIX) not in counts:
                pipe.delete(name)
        for tenant_id, count in counts.items():
            pipe.set(_key(tenant_id), count)
        await pipe.execute()
