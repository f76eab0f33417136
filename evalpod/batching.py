"""Natural batching of concurrent requests to one server (a micro-batcher).

The first item is sent at once; items added while a send is in flight wait for it and go
together in the next, at most `max_batch` at a time. A lone item waits for nothing; under
load one round trip carries many. It is how PostgreSQL groups its own WAL flushes (group
commit) and what `evalpod.lua.ScriptBatcher` and `api.group_commit.GroupCommit` share.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

Pending = tuple[ItemT, asyncio.Future[ResultT]]


class MicroBatcher(ABC, Generic[ItemT, ResultT]):
    """Items sent in batches by `send_batch`; each caller awaits its own item's future.

    One per event loop and server connection pool. `send_batch` resolves the futures of
    its batch; one it leaves pending, or all of them if it raises, gets its exception
    (a `BaseException` such as cancellation is raised again after that)."""

    def __init__(self, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.max_batch = max_batch
        self._waiting: list[Pending[ItemT, ResultT]] = []
        self._drainer: asyncio.Task[None] | None = None

    def add(self, item: ItemT) -> asyncio.Future[ResultT]:
        """Queue `item` for the next batch; the future gets its result or error."""
        done: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return done

    @abstractmethod
    async def send_batch(self, batch: list[Pending[ItemT, ResultT]]) -> None:
        """Send `batch` in one round trip and resolve each of its futures."""

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:self.max_batch]
                del self._waiting[:self.max_batch]
                await self._send_guarded(batch)
        finally:
            self._drainer = None
            for _, done in self._waiting:  # only when cancelled (shutdown)
                done.cancel()
            self._waiting = []

    async def _send_guarded(self, batch: list[Pending[ItemT, ResultT]]) -> None:
        try:
            await self.send_batch(batch)
        except BaseException as exc:
            fail(batch, exc)
            if not isinstance(exc, Exception):
                raise
        else:  # a caller must never wait forever on an item its batch forgot
            fail(batch, RuntimeError(f"{type(self).__name__} sent the item without a result"))


def fail(batch: list[Pending[ItemT, ResultT]], error: BaseException) -> None:
    """Set `error` on each future of `batch` that is still pending."""
    for _, done in batch:
        if not done.done():
            done.set_exception(error)
