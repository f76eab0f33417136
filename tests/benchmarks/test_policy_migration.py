"""Migration 0002 rewrites tag-gated policies so a submitter's script can no longer pass."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import text

from evalpod.db import Database
from evalpod.migrate import upgrade


async def _execute(dsn: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    db = Database(dsn)
    try:
        async with db.session() as session:
            result = await session.execute(text(sql), params)
            return [tuple(row) for row in result] if sql.lstrip().upper().startswith(
                "SELECT") else []
    finally:
        await db.dispose()


def test_tag_requirements_become_lm_eval_task_requirements(tmp_path: Path) -> None:
    dsn = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(dsn, "0001")
    legacy = {"required": [{"name": "qa", "min_scores": {"accuracy": 0.8}},
                           {"name": "evalpod_arith", "min_scores": {"acc": 0.3}}]}
    asyncio.run(_execute(
        dsn, "INSERT INTO models (id, name, storage_path, checksum, stage, evaluation_policy, "
        "created_at, updated_at) VALUES ('m', 'm', '/x', :sum, 'staging', :policy, "
        "'2026-01-01', '2026-01-01')", sum="0" * 64, policy=json.dumps(legacy)))
    upgrade(dsn)
    [(stored,)] = asyncio.run(_execute(dsn, "SELECT evaluation_policy FROM models"))
    policy = json.loads(stored) if isinstance(stored, str) else stored
    assert policy == {"required": [
        {"lm_eval_task": "qa", "min_scores": {"accuracy": 0.8}},
        {"lm_eval_task": "evalpod_arith", "min_scores": {"acc": 0.3}}]}

    from evalpod.promotion import parse_policy

    assert [r.key for r in parse_policy(policy).required] == ["qa", "evalpod_arith"]
