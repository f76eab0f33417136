"""Fixtures for the dashboard tests: a running stack and Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium (scripts/setup.sh
installs it with the dev extra). Without it the tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from evalpod.settings import get_settings
from tests.datasets.conftest import redis_db_lease
from tests.stack import Stack, running_stack, stack_settings

CHROMIUM = os.environ.get("EVALPOD_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def web_dsn(pg_factory: Callable[[str], str]) -> str:
    return pg_factory("web")  # sync: creating the database runs its own event loop


@pytest.fixture(scope="session")
async def web_stack(web_dsn: str, tiny_model_dir: Path) -> AsyncIterator[Stack]:
    # Its own database and a leased Redis DB: no other suite's (or session's) evaluations
    # in its lists or queues, and no other session flushes its queue mid-test.
    with redis_db_lease(get_settings().redis_dsn().rsplit("/", 1)[0]) as redis_db:
        settings = stack_settings(web_dsn, redis_db=redis_db, trial_timeout_s=120)
        async with running_stack(settings, tiny_model_dir) as stack:
            yield stack


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium "
                    "(scripts/setup.sh does with the dev extra)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: EVALPOD_SCREENSHOTS if set, else a temporary folder."""
    target = os.environ.get("EVALPOD_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("screens")
    path.mkdir(parents=True, exist_ok=True)
    return path
