"""Fixtures for end-to-end tests: one running stack per database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture(scope="session", params=["postgres", "sqlite"])
def e2e_dsn(request: pytest.FixtureRequest, pg_factory: Callable[[str], str],
            sqlite_factory: Callable[[str], str]) -> str:
    """A database only the end-to-end stacks use: no other suite's leftovers to work off."""
    return pg_factory("e2e") if request.param == "postgres" else sqlite_factory("e2e")


@pytest.fixture(scope="session")
async def stack(e2e_dsn: str, tiny_model_dir: Path) -> AsyncIterator[Stack]:
    # The trial loads the model's shadow (torch, transformers) within its cap: a loaded
    # test machine can need more than the default 20 s for that alone.
    settings = stack_settings(e2e_dsn, callback_allow_private=True, trial_timeout_s=120)
    async with running_stack(settings, tiny_model_dir) as running:
        yield running
