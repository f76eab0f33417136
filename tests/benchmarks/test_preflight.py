"""POST /evaluations/preflight: memory, fit, duration from past runs, dataset checks; no rows."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from evalpod.db import get_database
from evalpod.orm import Evaluation
from tests.datasets.conftest import DataStack


async def _count(datastack: DataStack) -> int:
    async with get_database(datastack.settings.database_dsn()).session() as session:
        return int(await session.scalar(select(func.count()).select_from(Evaluation)) or 0)


async def test_preflight_estimates_and_stores_nothing(datastack: DataStack) -> None:
    before = await _count(datastack)
    body = {"model_id": "tiny-gpt2", "script": "def evaluate_model(model):\n    return {}\n",
            "config": {"memory_mb": 4096}}
    answer: httpx.Response = await datastack.http.post("/evaluations/preflight", json=body)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    memory = report["estimate"]["memory"]
    assert memory["dtype"] == "float32" and memory["weights_mb"] > 0
    assert memory["inference_mb"] > 0 and memory["context"] > 0
    assert report["ok"] and report["estimate"]["based_on_runs"] >= 0
    tight = await datastack.http.post("/evaluations/preflight", json={
        **body, "config": {"memory_mb": 64}, "datasets": ["nope@1"]})
    refused = tight.json()
    assert not refused["ok"]
    assert any("MiB" in e for e in refused["errors"])
    assert any("nope@1" in e for e in refused["errors"])
    assert await _count(datastack) == before
