"""Cross-process nudges over Redis pub/sub (cancel). Lost messages are caught by DB polling."""

from __future__ import annotations

from redis.asyncio import Redis

CANCEL_CHANNEL = "evalpod:cancel"


async def publish_cancel(redis: Redis, evaluation_id: str) -> None:
    await redis.publish(CANCEL_CHANNEL, evaluation_id)
