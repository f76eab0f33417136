"""Shared fixtures: real PostgreSQL and Redis, a private EVALPOD_HOME, the tiny model."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

PG_ADMIN_DSN = os.environ.get("EVALPOD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("EVALPOD_TEST_REDIS", "redis://127.0.0.1:6379/9")
ROOT = Path(__file__).resolve().parent.parent

# Settings are read from the environment once per process: point them at test state first.
_HOME = Path(tempfile.mkdtemp(prefix="evalpod-test-home-"))
os.environ["EVALPOD_HOME"] = str(_HOME)
os.environ["EVALPOD_REDIS_URL"] = REDIS_TEST_URL
os.environ.setdefault("EVALPOD_WORKER_LIVENESS_TTL_S", "3")
os.environ.setdefault("EVALPOD_WORKER_HEARTBEAT_S", "0.5")
os.environ.setdefault("EVALPOD_RECONCILE_INTERVAL_S", "1")
# Tests poll hard; the rate-limit tests set tight per-tenant limits themselves.
os.environ.setdefault("EVALPOD_RATE_PER_MINUTE", "100000")
os.environ.setdefault("EVALPOD_RATE_BURST_PER_SECOND", "10000")
os.environ.setdefault("EVALPOD_MAX_LIVE_EVALUATIONS", "10000")


def _pg_dsn(database: str, driver: str = "postgresql+asyncpg") -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].split("://", 1)[1]
    return f"{driver}://{base}/{database}"


TEST_REDIS_DBS = range(9, 16)


@pytest.fixture(scope="session", autouse=True)
def clean_test_redis() -> None:
    """Jobs left queued by an earlier run point at dropped databases: start from empty."""
    import redis

    base = REDIS_TEST_URL.rsplit("/", 1)[0]
    for db in TEST_REDIS_DBS:
        redis.Redis.from_url(f"{base}/{db}").flushdb()


@pytest.fixture(scope="session")
def evalpod_home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def pg_factory() -> Iterator[Callable[[str], str]]:
    """Fresh PostgreSQL databases by label, migrated once each, dropped at the end.

    Suites that leave queued evaluations behind (API, registry, kernel) must not share a
    database with suites whose workers would pick those up (end-to-end).
    """
    import asyncpg

    created: dict[str, str] = {}

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def make(label: str) -> str:
        if label not in created:
            name = f"evalpod_test_{label}_{uuid.uuid4().hex[:8]}"
            asyncio.run(admin(f'CREATE DATABASE "{name}"'))
            from evalpod.migrate import upgrade

            upgrade(_pg_dsn(name))
            created[label] = name
        return _pg_dsn(created[label])

    yield make
    for name in created.values():
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_factory(evalpod_home: Path) -> Callable[[str], str]:
    def make(label: str) -> str:
        path = evalpod_home / f"{label}.db"
        dsn = f"sqlite+aiosqlite:///{path}"
        if not path.exists():
            from evalpod.migrate import upgrade

            upgrade(dsn)
        return dsn

    return make


@pytest.fixture(scope="session")
def pg_dsn(pg_factory: Callable[[str], str]) -> str:
    return pg_factory("main")


@pytest.fixture(scope="session")
def sqlite_dsn(sqlite_factory: Callable[[str], str]) -> str:
    return sqlite_factory("main")


@pytest.fixture(scope="session", params=["postgres", "sqlite"])
def any_dsn(request: pytest.FixtureRequest) -> str:
    """Run the test on PostgreSQL and on SQLite."""
    dsn: str = request.getfixturevalue("pg_dsn" if request.param == "postgres" else "sqlite_dsn")
    return dsn


@pytest.fixture(scope="session")
async def redis_client() -> AsyncIterator[object]:
    from evalpod import queue

    client = await queue.connect(REDIS_TEST_URL)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """tiny-gpt2 built once per machine (it is deterministic) through the real save path."""
    cache = Path(os.environ.get("EVALPOD_TEST_CACHE", Path.home() / ".cache" / "evalpod-tests"))
    dest = cache / "tiny-gpt2"
    if not (dest / "config.json").exists():
        subprocess.run([sys.executable, str(ROOT / "sandbox_images" / "tiny_model.py"),
                        str(dest)], check=True)
    return dest
