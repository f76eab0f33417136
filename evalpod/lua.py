"""Redis Lua scripts sent by hash: the text crosses the wire only when Redis lacks it;
batches of calls pipelined in one round trip (`run_many`, `ScriptBatcher`)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from evalpod.batching import MicroBatcher, Pending


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
        return await run_many(redis, [(self, keys, args) for keys, args in calls])


Call = tuple[LuaScript, list[str], list[Any]]


async def run_many(redis: Redis, calls: list[Call]) -> list[Any]:
    """Run each (script, keys, args), in order, in one pipelined round trip (two when Redis
    lacks a script). A call's reply is its result or the exception it raised; errors of
    the connection itself are raised."""
    replies = await _pipelined(redis, [(True, script.sha, keys, args)
                                       for script, keys, args in calls])
    missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
    if missing:
        again = await _pipelined(redis, [(False, calls[i][0].source, calls[i][1], calls[i][2])
                                         for i in missing])
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


class ScriptBatcher(MicroBatcher[Call, Any]):
    """Script calls of concurrent tasks sent together, one pipeline per round trip
    (`evalpod.batching`): under load one send and one receive, which cost more CPU than
    the scripts, serve many calls. Scripts stay atomic one by one: a pipeline is no
    transaction, as separate calls were not.
    """

    def __init__(self, redis: Redis, max_batch: int = 256) -> None:
        super().__init__(max_batch)
        self.redis = redis

    def call(self, script: LuaScript, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """Queue one call: the future gets its reply, or the error it or the connection
        raised. Cancelling the future does not recall a call already sent."""
        return self.add((script, keys, args))

    async def send_batch(self, batch: list[Pending[Call, Any]]) -> None:
        replies = await run_many(self.redis, [call for call, _ in batch])
        for (_, done), reply in zip(batch, replies, strict=True):
            if done.done():
                continue
            if isinstance(reply, BaseException):
                done.set_exception(reply)
            else:
                done.set_result(reply)
