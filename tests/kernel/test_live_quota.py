"""Live-evaluation slots in Redis: atomic under concurrency, healed from the database."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from evalpod.live_quota import KEY_PREFIX, give_back_slot, resync, take_slot


async def test_slots_are_taken_atomically_and_never_go_negative(redis_client: Any) -> None:
    tenant = f"tn-{uuid.uuid4().hex[:8]}"
    slots = await asyncio.gather(*(take_slot(redis_client, tenant, 5) for _ in range(20)))
    assert sum(s.taken for s in slots) == 5
    assert max(s.used for s in slots) == 5
    for _ in range(7):
        await give_back_slot(redis_client, tenant)
    assert int(await redis_client.get(KEY_PREFIX + tenant)) == 0
    assert (await take_slot(redis_client, tenant, 5)).used == 1


async def test_resync_replaces_drifted_counts_with_the_database_truth(redis_client: Any) -> None:
    leaked, gone, kept = (f"tn-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for _ in range(4):
        await take_slot(redis_client, leaked, 10)  # slots of submits that never committed
    await take_slot(redis_client, gone, 10)
    await resync(redis_client, {leaked: 1, kept: 2})
    assert int(await redis_client.get(KEY_PREFIX + leaked)) == 1
    assert int(await redis_client.get(KEY_PREFIX + kept)) == 2
    assert await redis_client.get(KEY_PREFIX + gone) is None
