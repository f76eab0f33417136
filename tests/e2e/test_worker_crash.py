"""A SIGKILLed orchestrator loses no evaluation: the reconciler re-queues it after restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evalpod.settings import Settings
from tests.e2e.processes import processes_of_job
from tests.stack import running_stack, stack_settings

SCRIPT = '''
import time

def evaluate_model(model):
    for i in range(40 if model.model.config.n_embd == 96 else 1):
        print("step", i, flush=True)
        time.sleep(0.1)
    return {"steps": 40}
'''


def _start_orchestrator(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from evalpod.cli import main; main()", "orchestrator"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def crash_settings(pg_factory: Callable[[str], str]) -> Settings:
    """Its own database and Redis DB: the session's stacks must not take these jobs."""
    return stack_settings(pg_factory("crash"), redis_db=12)


@pytest.fixture
def orchestrator_env(crash_settings: Settings) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env["EVALPOD_DATABASE_URL"] = crash_settings.database_dsn()
    env["EVALPOD_REDIS_URL"] = crash_settings.redis_dsn()
    yield env


async def test_sigkilled_orchestrator_does_not_lose_the_evaluation(
    crash_settings: Settings, tiny_model_dir: Path, orchestrator_env: dict[str, str]
) -> None:
    settings = crash_settings
    async with running_stack(settings, tiny_model_dir, orchestrator=False) as stack:
        first = _start_orchestrator(orchestrator_env)
        second = None
        try:
            response = await stack.submit(SCRIPT, config={"timeout_s": 120})
            evaluation_id = response.json()["evaluation_id"]
            await stack.wait_for(evaluation_id, {"executing"}, timeout_s=120)
            await asyncio.sleep(1.0)
            first.send_signal(signal.SIGKILL)
            first.wait()
            # --die-with-parent: the sandbox goes with its worker.
            for _ in range(50):
                if not processes_of_job(evaluation_id):
                    break
                await asyncio.sleep(0.1)
            assert processes_of_job(evaluation_id) == []
            second = _start_orchestrator(orchestrator_env)
            record = await stack.wait_for(evaluation_id, {"succeeded"}, timeout_s=120)
            notes = await _evalpod_run_lines(settings, evaluation_id)
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGINT)
                    process.wait(timeout=30)
    reasons = [t["reason"] for t in record["transitions"]]
    assert any(r.startswith("re-queued") for r in reasons), reasons
    assert record["attempts"] == 2
    assert record["result"] == {"steps": 40}
    # The lost attempt's header has no end line; the log says why a second header follows.
    headers = [i for i, text in enumerate(notes) if text.startswith("run: ")]
    assert len(headers) == 2, notes
    assert notes[headers[1] - 1].startswith("run restarted ("), notes
    assert "succeeded after" in notes[-1], notes


async def _evalpod_run_lines(settings: Settings, evaluation_id: str) -> list[str]:
    from redis.asyncio import Redis

    from evalpod.logs.stream import read_after

    redis = Redis.from_url(settings.redis_dsn())
    try:
        entries = await read_after(redis, evaluation_id, "0", block_ms=None, count=10_000)
    finally:
        await redis.aclose()
    return [e.text for e in entries
            if e.kind == "log" and e.source == "evalpod" and e.phase == "run"]
