"""Fixtures for end-to-end tests: one running stack per database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from evalpod.settings import get_settings
from tests.datasets.conftest import redis_db_lease
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture(scope="session", params=["postgres", "sqlite"])
def e2e_dsn(request: pytest.FixtureRequest, pg_factory: Callable[[str], str],
            sqlite_factory: Callable[[str], str]) -> str:
    """A database only the end-to-end stacks use: no other suite's leftovers to work off."""
    return pg_factory("e2e") if request.param == "postgres" else sqlite_factory("e2e")


@pytest.fixture(scope="session")
async def stack(e2e_dsn: str, tiny_model_dir: Path) -> AsyncIterator[Stack]:
    # A leased Redis DB, not a fixed one: another engineer's test session on this machine
    # would flush a fixed DB when it starts, and its workers would take this stack's jobs
    # and find no such evaluation in their own database (a callback then never came).
    with redis_db_lease(get_settings().redis_dsn().rsplit("/", 1)[0]) as redis_db:
        # The trial loads the model's shadow (torch, transformers) within its cap: a loaded
        # test machine can need more than the default 20 s for that alone.
        settings = stack_settings(e2e_dsn, redis_db=redis_db, callback_allow_private=True,
                                  trial_timeout_s=120)
        async with running_stack(settings, tiny_model_dir) as running:
            yield running
