"""Request-scoped dependencies: the unit of work (session + jobs sent after commit) and auth."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Caller:
    """An authenticated caller whose request is not counted yet: `epoch` is the auth epoch
    its cached principal was stored under (None when just looked up, so current)."""

    principal: Principal
    digest: str
    epoch: str | None


async def _identify(request: Request) -> Caller:
    digest = await _caller_digest(request)
    state = request.app.state
    cache: PrincipalCache = state.principal_cache
    cached = cache.get(digest)
    if cached is not None:
        return Caller(cached.principal, digest, cached.epoch)
    principal = await cache.fetch_once(
        digest, lambda: _authenticate(state.db, state.redis, cache, digest))
    return Caller(principal, digest, None)


async def recheck(request: Request, caller: Caller, epoch: str) -> Principal:
    """The caller's principal once its request has been counted and `epoch` read: looked up
    again if a key was revoked or a tenant's limits changed somewhere since it was cached."""
    principal = caller.principal
    if caller.epoch is not None and epoch != caller.epoch:
        state = request.app.state
        state.principal_cache.clear()
        principal = await _authenticate(state.db, state.redis, state.principal_cache,
                                        caller.digest)
    request.state.principal = principal
    return principal


async def get_principal(request: Request) -> Principal:
    """The caller, from the bearer key or the browser session cookie, looked up in the
    principal cache or the database, and counted against its rate."""
    caller = await _identify(request)
    state = request.app.state
    verdict = await count_request(state.redis, caller.principal, state.settings)
    principal = await recheck(request, caller, verdict.auth_epoch)
    verdict.enforce()
    return principal


async def get_uncounted_caller(request: Request) -> Caller:
    """The caller, authenticated but not counted: for a route that counts the request in
    its own Redis round trip (submit's admission). The request is marked uncounted until
    `mark_counted`; `count_uncounted` counts a request refused before that."""
    caller = await _identify(request)
    request.state.principal = caller.principal
    request.state.uncounted = caller
    return caller


def mark_counted(request: Request) -> None:
    request.state.uncounted = None


async def count_uncounted(request: Request) -> None:
    """Count a request refused before its route counted it (e.g. a body that fails
    validation), so refusals use up the rate as they always did; raises `RateLimited`."""
    caller: Caller | None = getattr(request.state, "uncounted", None)
    if caller is None:
        return
    mark_counted(request)
    state = request.app.state
    verdict = await count_request(state.redis, caller.principal, state.settings)
    await recheck(request, caller, verdict.auth_epoch)
    verdict.enforce()


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
UncountedCallerDep = Annotated[Caller, Depends(get_uncounted_caller)]
AdminDep = Annotated[Principal, Depends(get_admin)]
