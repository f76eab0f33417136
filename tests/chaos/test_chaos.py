"""A CI-sized chaos run: real processes killed and restarted, Redis restarted, database
writes failing at random; every evaluation ends, once, with every transition recorded.

The long run with a PostgreSQL restart too is `bench/chaos.py`.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.chaos.cluster import ChaosConfig, run_chaos

pytestmark = pytest.mark.slow


def test_chaos_loses_nothing_and_sticks_nothing(
    pg_factory: Callable[[str], str], tiny_model_dir: Path
) -> None:
    # Each evaluation is two sandbox starts (trial, run) of a few seconds on an idle CI
    # machine; the bound leaves room for a loaded one.
    config = ChaosConfig(submissions=8, chaos_s=60, kill_interval_s=(3, 8),
                         write_fault_p=0.02, terminal_bound_s=600, seed=12)
    dsn = pg_factory("chaos")
    # Outside pytest's tmp dirs (only the newest few are kept): the process logs are the
    # first thing to read when this fails.
    workdir = Path(tempfile.mkdtemp(prefix="evalpod-chaos-"))
    report = asyncio.run(run_chaos(config, tiny_model_dir, dsn=dsn, workdir=workdir))
    print(report.figures())
    assert len(report.accepted) == config.submissions, report.figures()
    assert not report.problems, report.figures()
    assert sum(report.kills.values()) >= 5, report.figures()  # the chaos did happen
