"""The real API app (real database and Redis) driven in-process, plus registry seed helpers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.app import create_app
from evalpod import lifecycle
from evalpod.db import get_database
from evalpod.keys import Role, create_key, ensure_tenant
from evalpod.lifecycle import EvaluationStatus as S
from evalpod.orm import Benchmark, Evaluation, Model, new_id, utcnow
from tests.stack import stack_settings


@dataclass
class Registry:
    """Seeds models, keys and finished evaluations; hands out authenticated clients."""

    dsn: str
    transport: httpx.ASGITransport

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=self.transport, headers=headers,
                                 base_url="http://evalpod.test/api/v1")

    async def key(self, tenant: str, role: Role = Role.submitter) -> str:
        async with get_database(self.dsn).session() as session:
            _, plaintext = await create_key(session, tenant, role)
        return plaintext

    async def add_model(self, model_id: str, *, family: str | None = "gpt2",
                        parent_id: str | None = None, stage: str = "staging",
                        name: str | None = None) -> str:
        async with get_database(self.dsn).session() as session:
            session.add(Model(id=model_id, name=name or model_id, family=family,
                              storage_path="/nowhere", checksum="0" * 64, stage=stage,
                              parent_id=parent_id))
        return model_id

    async def add_benchmark(self, tenant: str, name: str, primary_metric: str = "accuracy"
                            ) -> str:
        """Version 1 of a script benchmark named `name`; its id."""
        async with get_database(self.dsn).session() as session:
            tenant_id = (await ensure_tenant(session, tenant)).id
            benchmark = Benchmark(id=new_id("bm"), name=name, version=1, kind="script",
                                  script="def evaluate_model(model):\n    return {}\n",
                                  primary_metric=primary_metric, tenant_id=tenant_id)
            session.add(benchmark)
        return benchmark.id

    async def add_result(self, tenant: str, model_id: str, result: dict[str, Any], *,
                         eval_tag: str | None = None, kind: str = "script",
                         benchmark_id: str | None = None) -> str:
        """A succeeded evaluation, moved through every lifecycle transition."""
        evaluation_id = new_id("ev")
        now = utcnow()
        async with get_database(self.dsn).session() as session:
            tenant_id = (await ensure_tenant(session, tenant)).id
            session.add(Evaluation(
                id=evaluation_id, tenant_id=tenant_id, model_id=model_id, kind=kind,
                script="def evaluate_model(model):\n    return {}\n" if kind == "script" else None,
                tasks=list(result.get("tasks", {})) if kind == "lm_eval" else None,
                tags={"eval": eval_tag} if eval_tag else {}, status=S.pending_validation.value,
                created_at=now, updated_at=now, benchmark_id=benchmark_id))
            await session.flush()
            await lifecycle.record_creation(session, evaluation_id, actor="test", at=now,
                                            tenant_id=tenant_id)
        for target in (S.validated, S.executing, S.succeeded):
            values = {"result": result} if target == S.succeeded else None
            async with get_database(self.dsn).session() as session:
                await lifecycle.transition(session, evaluation_id, target, actor="test",
                                           reason=f"test: {target}", values=values)
        return evaluation_id


@pytest.fixture(scope="session")
async def registry(any_dsn: str) -> AsyncIterator[Registry]:
    app = create_app(stack_settings(any_dsn, redis_db=13))
    async with app.router.lifespan_context(app):
        yield Registry(any_dsn, httpx.ASGITransport(app=app))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
