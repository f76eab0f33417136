"""Lua script calls batched into pipelines: each call gets its own reply or error, in order,
and a script Redis has never seen is loaded on the way."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.exceptions import ResponseError

from evalpod.lua import LuaScript, ScriptBatcher


async def test_concurrent_calls_share_round_trips_and_keep_their_own_replies(
    redis_client: Any,
) -> None:
    # A source Redis has never seen: the first pipeline meets NOSCRIPT and falls back.
    echo = LuaScript(f"-- {uuid.uuid4().hex}\nreturn redis.call('INCR', KEYS[1]) * 0 + ARGV[1]")
    fail = LuaScript("return redis.error_reply('refused ' .. ARGV[1])")
    batcher = ScriptBatcher(redis_client)
    key = f"evalpod:test:batcher:{uuid.uuid4().hex}"
    pipelines = 0
    original = redis_client.pipeline

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal pipelines
        pipelines += 1
        return original(*args, **kwargs)

    redis_client.pipeline = counted
    try:
        calls = [batcher.call(fail if n == 3 else echo, [key], [n]) for n in range(10)]
        replies = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        del redis_client.pipeline
    assert [r for n, r in enumerate(replies) if n != 3] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert isinstance(replies[3], ResponseError) and "refused 3" in str(replies[3])
    assert int(await redis_client.get(key)) == 9  # every echo ran exactly once
    assert pipelines <= 4  # (EVALSHA, then EVAL of the unknown script) at most twice
    await redis_client.delete(key)
