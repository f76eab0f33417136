"""A restarted stage says so before its second header (the new user's re-queued job had
two `trial run: ...` headers, the first with no end line)."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from evalpod.logs.stream import Phase, read_after
from monitor.logs import LogWriter, end_note

RESTARTED = {"trial": "trial run restarted (", "run": "run restarted ("}


async def _texts(redis: Redis, evaluation_id: str) -> list[tuple[str, str]]:
    entries = await read_after(redis, evaluation_id, "0", block_ms=None, count=1000)
    return [(e.phase, e.text) for e in entries if e.source == "evalpod"]


async def _attempt(redis: Redis, evaluation_id: str, phase: Phase, *, finish: bool) -> None:
    writer = LogWriter(redis, evaluation_id, maxlen=1000, phase=phase)
    name = "trial run" if phase == "trial" else "run"
    await writer.header(f"{name}: model tiny-gpt2, at most 20 s")
    await writer.write("a line of the script")
    if finish:
        await writer.note(end_note(phase, "succeeded", 0.5))
    await writer.aclose()


@pytest.mark.parametrize("phase", ["trial", "run"])
async def test_a_second_header_after_a_lost_attempt_is_preceded_by_a_restart_line(
    redis_client: Redis, phase: Phase,
) -> None:
    evaluation_id = f"ev_{uuid.uuid4().hex}"
    await _attempt(redis_client, evaluation_id, phase, finish=False)  # the worker died
    await _attempt(redis_client, evaluation_id, phase, finish=True)
    texts = [text for _, text in await _texts(redis_client, evaluation_id)]
    assert len(texts) == 4, texts
    assert texts[1].startswith(RESTARTED[phase]), texts
    assert texts[2].endswith("at most 20 s") and "succeeded after" in texts[3]


async def test_no_restart_line_after_a_finished_attempt_or_another_phase(
    redis_client: Redis,
) -> None:
    evaluation_id = f"ev_{uuid.uuid4().hex}"
    await _attempt(redis_client, evaluation_id, "trial", finish=True)
    await _attempt(redis_client, evaluation_id, "run", finish=False)
    texts = await _texts(redis_client, evaluation_id)
    assert not any("restarted" in text for _, text in texts), texts
    # A trial lost after an earlier, finished trial is a restart of the second one only.
    await _attempt(redis_client, evaluation_id, "trial", finish=False)
    await _attempt(redis_client, evaluation_id, "trial", finish=True)
    texts = await _texts(redis_client, evaluation_id)
    assert sum("restarted" in text for _, text in texts) == 1, texts
