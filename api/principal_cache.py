"""A per-process cache of authenticated principals, invalidated through Redis.

Looking a key up in PostgreSQL on every request costs a checkout and three round trips.
A cached principal is reused for at most `ttl_s`, and only while the Redis auth epoch is
the one it was cached under: revoking a key or changing a tenant's limits bumps the epoch
(`evalpod.keys.bump_auth_epoch`), and the rate-limit script reads the epoch in the round trip every
request makes anyway, so a revocation takes effect on the very next request of every
replica. A change made behind evalpod's back (plain SQL) is seen within `ttl_s`.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from evalpod.keys import Principal


@dataclass(frozen=True)
class CachedPrincipal:
    principal: Principal
    epoch: str
    expires_at: float


class PrincipalCache:
    """Bounded LRU of key digest → principal; never holds a key that failed to authenticate."""

    def __init__(self, ttl_s: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedPrincipal] = OrderedDict()
        self._fetching: dict[str, asyncio.Future[Principal]] = {}

    def get(self, digest: str) -> CachedPrincipal | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry.expires_at <= time.monotonic():
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return entry

    def put(self, digest: str, principal: Principal, epoch: str) -> None:
        if self.ttl_s <= 0:
            return
        self._entries[digest] = CachedPrincipal(principal, epoch, time.monotonic() + self.ttl_s)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    async def fetch_once(self, digest: str, fetch: Callable[[], Awaitable[Principal]]
                         ) -> Principal:
        """`fetch()`, shared by every request that misses `digest` while it runs: when an
        entry expires under load, one lookup serves the requests in flight, not one each."""
        pending = self._fetching.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(fetch())
            self._fetching[digest] = pending
            pending.add_done_callback(lambda done: self._fetched(digest, done))
        return await asyncio.shield(pending)

    def _fetched(self, digest: str, done: asyncio.Future[Principal]) -> None:
        if self._fetching.get(digest) is done:
            del self._fetching[digest]
        if not done.cancelled():
            done.exception()  # retrieved: a refusal with no request left waiting is no error
