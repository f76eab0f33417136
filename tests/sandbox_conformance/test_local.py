"""The `local` (bubblewrap) backend against the shared conformance checks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evalpod.settings import Settings
from orchestrator.local.backend import LocalBackend
from orchestrator.sandbox import SandboxBackend
from tests.sandbox_conformance.checks import CHECKS, Check

CHECK_TIMEOUT_S = 60


@pytest.fixture
def backend(tmp_path: Path) -> SandboxBackend:
    return LocalBackend(Settings(home=tmp_path))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
async def test_conformance(check: Check, backend: SandboxBackend) -> None:
    await asyncio.wait_for(check(backend), CHECK_TIMEOUT_S)  # a hang is a failure
