"""Request-scoped dependencies: the unit of work (session + jobs sent after commit) and auth."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.limits import check_rate
from evalpod import queue
from evalpod.db import Database
from evalpod.errors import Forbidden, Unauthorized
from evalpod.keys import Principal, authenticate


class UnitOfWork:
    """One transaction per `begin()`; queued jobs are sent only after it commits."""

    def __init__(self, db: Database, redis: ArqRedis) -> None:
        self.db = db
        self.redis = redis
        self._jobs: list[queue.QueuedJob] = []
        self._after: list[Callable[[], Awaitable[None]]] = []

    def enqueue(self, job: queue.QueuedJob) -> None:
        self._jobs.append(job)

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` once the transaction has committed (dropped on rollback)."""
        self._after.append(action)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        self._jobs, self._after = [], []
        async with self.db.session() as session:
            yield session
        jobs, self._jobs = self._jobs, []
        actions, self._after = self._after, []
        # Reached only after a commit; a job lost here is found by the reconciler.
        await queue.send_all(self.redis, jobs)
        for action in actions:
            await action()


def get_uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.db, request.app.state.redis)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing or malformed Authorization header")
    return token.strip()


async def get_principal(request: Request) -> Principal:
    token = _bearer(request)
    db: Database = request.app.state.db
    async with db.session() as session:
        principal = await authenticate(session, token)
    if principal is None:
        raise Unauthorized("invalid or revoked API key")
    request.state.principal = principal
    await check_rate(request.app.state.redis, principal, request.app.state.settings)
    return principal


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("admin role required")
    return principal


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_uow)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(get_admin)]
