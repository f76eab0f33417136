"""Alembic migrations run programmatically (`evalpod db upgrade`, `evalpod up`, tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(dsn: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", dsn)
    return config


def upgrade(dsn: str, revision: str = "head") -> None:
    """Migrate `dsn` to `revision`; safe to call from inside a running event loop's thread."""
    command.upgrade(alembic_config(dsn), revision)


async def upgrade_async(dsn: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, dsn, revision)
