"""The database engine and the one session/transaction helper everything uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(dsn: str) -> bool:
    return dsn.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a worker writes; busy_timeout turns lock contention
    # into a short wait instead of "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(dsn: str, pool_size: int = 20, max_overflow: int = 20) -> AsyncEngine:
    if is_sqlite(dsn):
        engine = create_async_engine(dsn, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip per checkout on the submit hot path; recycling and
    # asyncpg's own dead-connection errors (retried by callers) cover stale connections.
    # Overflow connections are opened and closed per checkout (a TLS attempt, auth and a
    # cold statement cache each time), so `pool_size` should cover the usual concurrency.
    return create_async_engine(dsn, pool_size=pool_size, max_overflow=max_overflow,
                               pool_recycle=1800)


class Database:
    """An engine plus its session factory; one per process and DSN."""

    def __init__(self, dsn: str, pool_size: int = 20, max_overflow: int = 20) -> None:
        self.dsn = dsn
        self.engine = make_engine(dsn, pool_size, max_overflow)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on any error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


_databases: dict[str, Database] = {}


def get_database(dsn: str | None = None) -> Database:
    """The process's `Database` for `dsn` (default: the configured one)."""
    if dsn is None:
        from evalpod.settings import get_settings

        dsn = get_settings().database_dsn()
    if dsn not in _databases:
        _databases[dsn] = Database(dsn)
    return _databases[dsn]


async def dispose_all() -> None:
    for database in list(_databases.values()):
        await database.dispose()
    _databases.clear()
