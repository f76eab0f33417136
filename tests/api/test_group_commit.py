"""Group commit of submits on PostgreSQL: concurrent submits share one INSERT and one
Redis pipeline, and each still answers only once its own row is committed."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from api.admission import Admission
from api.evaluation_service import _group_write, _new_row
from api.group_commit import GroupCommit
from api.schemas import EvaluationCreate
from evalpod import queue
from evalpod.keys import Principal, Role
from evalpod.orm import ActivityEvent, Evaluation, EvaluationTransition
from tests.api.test_submit_fast_path import statements

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"


async def _stored(app: FastAPI, ids: list[str]) -> tuple[int, int, int]:
    """(evaluations, first transitions, activity rows) stored for `ids`."""
    async with app.state.db.session() as session:
        counts = []
        for column in (Evaluation.id, EvaluationTransition.evaluation_id,
                       ActivityEvent.entity_id):
            counts.append(await session.scalar(
                select(func.count()).where(column.in_(ids))))
    return counts[0], counts[1], counts[2]


async def test_concurrent_submits_share_statements(client: httpx.AsyncClient,
                                                   api_app: FastAPI) -> None:
    body = {"model_id": "tiny-gpt2", "script": GOOD}
    await client.post("/evaluations", json=body)  # warm
    with statements(api_app) as seen:
        responses = await asyncio.gather(*(client.post("/evaluations", json=body)
                                           for _ in range(12)))
    assert [r.status_code for r in responses] == [202] * 12
    inserts = [word for word, autocommit in seen if word == "WITH" and autocommit]
    assert 1 <= len(inserts) < 12, seen
    ids = [r.json()["evaluation_id"] for r in responses]
    assert await _stored(api_app, ids) == (12, 12, 12)
    places = [r.json()["queue_position"] for r in responses]
    assert all(isinstance(p, int) for p in places) and len(set(places)) == 12
    for evaluation_id in ids:
        status = await client.get(f"/evaluations/{evaluation_id}/status")
        assert status.json()["status"] == "pending_validation"


def _entry(tenant_id: str, model_id: str = "tiny-gpt2") -> tuple[dict[str, Any], queue.QueuedJob]:
    principal = Principal(tenant_id=tenant_id, key_id="k-test", role=Role.submitter)
    row = _new_row(principal, EvaluationCreate(model_id=model_id, script=GOOD))
    job = queue.new_job("validate", row["id"], row["priority"], tenant_id=tenant_id)
    row["queue_job_id"] = job.job_id
    return row, job


async def test_a_bad_row_fails_only_its_own_submit(client: httpx.AsyncClient,
                                                   api_app: FastAPI) -> None:
    group = GroupCommit(api_app.state.db, api_app.state.redis)
    tenant: str = client.tenant_id  # type: ignore[attr-defined]
    entries = [_entry(tenant), _entry(tenant, model_id="no-such-model"), _entry(tenant)]
    futures = [group.add_submit(row, "k-test", job) for row, job in entries]
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert isinstance(results[1], IntegrityError)
    assert isinstance(results[0], int) and isinstance(results[2], int)
    ids = [row["id"] for row, _ in entries]
    assert await _stored(api_app, [ids[0], ids[2]]) == (2, 2, 2)
    assert await _stored(api_app, [ids[1]]) == (0, 0, 0)


async def test_committed_rows_answer_even_when_redis_is_down(client: httpx.AsyncClient,
                                                             api_app: FastAPI) -> None:
    down: ArqRedis = ArqRedis.from_url("redis://127.0.0.1:1/0")
    group = GroupCommit(api_app.state.db, down)
    tenant: str = client.tenant_id  # type: ignore[attr-defined]
    entries = [_entry(tenant), _entry(tenant)]
    places = await asyncio.gather(*(group.add_submit(row, "k-test", job) for row, job in entries))
    # Accepted: stored with their job ids, which the reconciler re-sends.
    assert places == [None, None]
    assert await _stored(api_app, [row["id"] for row, _ in entries]) == (2, 2, 2)
    await down.aclose()


@pytest.mark.parametrize("fails", [False, True])
async def test_a_cancelled_submit_keeps_its_quota_only_if_stored(
    client: httpx.AsyncClient, api_app: FastAPI, fails: bool
) -> None:
    group = GroupCommit(api_app.state.db, api_app.state.redis)
    tenant: str = client.tenant_id  # type: ignore[attr-defined]
    row, job = _entry(tenant, model_id="no-such-model" if fails else "tiny-gpt2")
    principal = Principal(tenant_id=tenant, key_id="k-test", role=Role.submitter)
    admission = Admission(principal, 0, "evalpod:gpusec:unused", held=True, auth_epoch="0")
    waiting = asyncio.create_task(_group_write(group, row, "k-test", job, admission))
    await asyncio.sleep(0)  # queued for the write
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await _stored(api_app, [row["id"]]) == ((0, 0, 0) if fails else (1, 1, 1))
    assert admission.held is fails  # a stored evaluation keeps its slot; else refunded
