"""Redis Lua scripts sent by hash: the text crosses the wire only when Redis lacks it."""

from __future__ import annotations

import hashlib
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError


class LuaScript:
    """One script, runnable on any client (EVALSHA, falling back to EVAL once per server)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, redis: Redis, keys: list[str], args: list[Any]) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)  # type: ignore[misc]
        except NoScriptError:
            return await redis.eval(self.source, len(keys), *keys, *args)  # type: ignore[misc]

    async def many(self, redis: Redis, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        """Run the script once per (keys, args), in order, in one pipelined round trip.

        A call's reply is its result or the exception it raised (never raised here)."""
        replies = await _pipelined(redis, [(True, self.sha, keys, args) for keys, args in calls])
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            again = await _pipelined(redis, [(False, self.source, *calls[i]) for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        return replies


async def _pipelined(redis: Redis, calls: list[tuple[bool, str, list[str], list[Any]]]
                     ) -> list[Any]:
    async with redis.pipeline(transaction=False) as pipe:
        for by_sha, script, keys, args in calls:
            if by_sha:
                pipe.evalsha(script, len(keys), *keys, *args)
            else:
                pipe.eval(script, len(keys), *keys, *args)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    return replies
