"""Request-scoped dependencies: the unit of work (session + jobs sent after commit) and auth."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from api import session as browser_session
from api.limits import count_request
from api.principal_cache import PrincipalCache
from evalpod import queue
from evalpod.db import Database
from evalpod.errors import Forbidden, Unauthorized
from evalpod.keys import Principal, authenticate_digest, hash_key, read_auth_epoch

log = logging.getLogger("evalpod.api")


class UnitOfWork:
    """One transaction per `begin()`; queued jobs are sent only after it commits."""

    def __init__(self, db: Database, redis: ArqRedis) -> None:
        self.db = db
        self.redis = redis
        self._jobs: list[queue.QueuedJob] = []
        self._after: list[Callable[[], Awaitable[None]]] = []
        self._undo: list[Callable[[], Awaitable[None]]] = []
        # Queue places of the jobs sent after the last commit, by job id.
        self.places: dict[str, int | None] = {}

    def enqueue(self, job: queue.QueuedJob) -> None:
        self._jobs.append(job)

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` once the transaction has committed (dropped on rollback)."""
        self._after.append(action)

    def on_failure(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` if the transaction rolls back: undo what was taken outside it."""
        self._undo.append(action)

    @asynccontextmanager
    async def begin(self, single_statement: bool = False) -> AsyncIterator[AsyncSession]:
        """A transaction; with `single_statement` on PostgreSQL, an autocommit session for
        a block that writes with one statement (atomic by itself): no BEGIN and COMMIT
        round trips. Its writes are committed when the block ends, as a transaction's."""
        self._jobs, self._after, self._undo = [], [], []
        try:
            async with self.db.session() as session:
                if single_statement and self.db.engine.dialect.name == "postgresql":
                    await session.connection(
                        execution_options={"isolation_level": "AUTOCOMMIT"})
                yield session
        except BaseException:
            undo, self._undo = self._undo, []
            for action in reversed(undo):
                with contextlib.suppress(RedisError, OSError):
                    await action()
            raise
        self._undo = []
        jobs, self._jobs = self._jobs, []
        actions, self._after = self._after, []
        # Reached only after a commit. The evaluation is accepted now: a Redis failure
        # must not turn that into an error (a retry would submit twice); the reconciler
        # re-delivers jobs that never reached Redis.
        try:
            self.places = await queue.send_all(self.redis, jobs)
        except (RedisError, OSError) as exc:
            log.warning("committed jobs not delivered (the reconciler will): %s", exc)
            self.places = {}
        for action in actions:
            await action()


async def get_uow(request: Request) -> UnitOfWork:
    # async: FastAPI runs a plain-def dependency in a worker thread, a costly hop per request.
    return UnitOfWork(request.app.state.db, request.app.state.redis)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing or malformed Authorization header")
    return token.strip()


async def _caller_digest(request: Request) -> str:
    """The digest of the caller's key: from the bearer header, else from the session cookie
    (a state-changing request with the cookie must carry its CSRF token)."""
    token = request.cookies.get(browser_session.COOKIE)
    if "authorization" in request.headers or not token:
        return hash_key(_bearer(request))
    session = await browser_session.read_session(request.app.state.redis, token)
    if session is None:
        raise Unauthorized("session expired or signed out",
                           hint="Sign in again with POST /api/v1/session.")
    browser_session.require_csrf(request, session)
    return session.key_digest


async def get_principal(request: Request) -> Principal:
    """The caller, from the bearer key or the browser session cookie, looked up in the
    principal cache or the database, and counted against its rate."""
    digest = await _caller_digest(request)
    state = request.app.state
    cache: PrincipalCache = state.principal_cache
    cached = cache.get(digest)
    principal = (cached.principal if cached is not None
                 else await _authenticate(state.db, state.redis, cache, digest))
    verdict = await count_request(state.redis, principal, state.settings)
    if cached is not None and verdict.auth_epoch != cached.epoch:
        # A key was revoked or a tenant's limits changed somewhere: look this one up again.
        cache.clear()
        principal = await _authenticate(state.db, state.redis, cache, digest)
    request.state.principal = principal
    verdict.enforce()
    return principal


async def _authenticate(db: Database, redis: Redis, cache: PrincipalCache, digest: str
                        ) -> Principal:
    # The epoch is read before the lookup: a revocation committed in between bumps it
    # afterwards, so the entry cached here is already stale for the next request.
    epoch = await read_auth_epoch(redis)
    async with db.session() as session:
        principal = await authenticate_digest(session, digest)
    if principal is None:
        raise Unauthorized("invalid or revoked API key")
    cache.put(digest, principal, epoch)
    return principal


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("admin role required")
    return principal


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_uow)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(get_admin)]
