"""`evalpod datasets add/list` and `evalpod leaderboard` against a running stack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalpod.cli.dataset_cmds import render_leaderboard
from tests.datasets.conftest import DataStack

pytestmark = pytest.mark.slow
EVALPOD = str(Path(sys.executable).parent / "evalpod")


async def _evalpod(stack: DataStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVALPOD_URL": stack.stack.url, "EVALPOD_API_KEY": stack.stack.key}
    return await asyncio.to_thread(subprocess.run, [EVALPOD, *args], capture_output=True,
                                   text=True, env=env, timeout=300)


async def test_datasets_add_streams_the_file_and_waits_for_the_check(
    datastack: DataStack, tmp_path: Path
) -> None:
    good = tmp_path / "cli-qa.jsonl"
    good.write_text('{"id": "a", "q": "x", "answer": "1"}\n{"id": "b", "q": "y", "answer": "2"}\n')
    done = await _evalpod(datastack, "datasets", "add", str(good), "--name", "cli-qa",
                          "--hidden-column", "answer")
    assert done.returncode == 0, done.stderr
    assert "cli-qa@1: ready, 2 rows" in done.stdout
    listed = await _evalpod(datastack, "datasets", "list", "--q", "cli-qa")
    assert "cli-qa" in listed.stdout and "1 (ready, 2 rows)" in listed.stdout
    bad = tmp_path / "cli-bad.csv"
    bad.write_text("id,t\n1,a\n2,a,b\n")
    failed = await _evalpod(datastack, "datasets", "add", str(bad), "--name", "cli-bad")
    assert failed.returncode == 1
    assert "RAGGED_CSV" in failed.stdout


def test_leaderboard_table() -> None:
    board = {"benchmark": "quiz@1", "primary_metric": "f1", "direction": "higher", "rows": [
        {"rank": 1, "model_id": "a", "score": 0.75, "stderr": 0.1, "evaluation_id": "ev_1"},
        {"rank": None, "model_id": "b", "score": None, "stderr": None, "evaluation_id": "ev_2"},
    ]}
    lines = render_leaderboard(board).splitlines()
    assert lines[0].startswith("quiz@1")
    assert lines[2].split() == ["1", "a", "0.7500", "±0.1000", "ev_1"]
    assert lines[3].split() == ["—", "b", "—", "ev_2"]
