"""An in-process evalpod for end-to-end tests: real uvicorn, real arq workers, real sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from evalpod import queue
from evalpod.callbacks import create_worker as create_callback_worker
from evalpod.db import get_database
from evalpod.keys import Role, create_key
from evalpod.orm import Evaluation, EvaluationTransition
from evalpod.registry import register_model
from evalpod.runner import ManagedServer
from evalpod.settings import Settings, get_settings
from evalpod.workers import build_worker
from orchestrator.worker import execute_evaluation
from validator.analysis import warm_up
from validator.worker import validate_evaluation

TERMINAL = {"validation_failed", "succeeded", "failed", "killed", "cancelled"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Stack:
    def __init__(self, settings: Settings, port: int, key: str) -> None:
        self.settings = settings
        self.url = f"http://127.0.0.1:{port}"
        self.key = key
        self.http = httpx.AsyncClient(base_url=self.url + "/api/v1", timeout=60,
                                      headers={"Authorization": f"Bearer {key}"})

    async def submit(self, script: str, **extra: Any) -> httpx.Response:
        body = {"model_id": "tiny-gpt2", "script": script, **extra}
        return await self.http.post("/evaluations", json=body)

    async def wait_for(self, evaluation_id: str, statuses: set[str], timeout_s: float = 300
                       ) -> dict[str, Any]:
        # Generous: each trial and each run loads torch and a model, and a loaded test
        # machine has taken over a minute for that alone.
        deadline = time.monotonic() + timeout_s
        while True:
            record: dict[str, Any] = (await self.http.get(f"/evaluations/{evaluation_id}")).json()
            if record["status"] in statuses:
                return record
            if record["status"] in TERMINAL or time.monotonic() > deadline:
                raise AssertionError(f"{evaluation_id} is {record['status']}, wanted {statuses}: "
                                     f"{record}")
            await asyncio.sleep(0.1)

    async def count_evaluations(self) -> int:
        from sqlalchemy import func, select

        async with get_database(self.settings.database_dsn()).session() as session:
            return int(await session.scalar(select(func.count()).select_from(Evaluation)) or 0)

    async def transitions(self, evaluation_id: str) -> list[tuple[str | None, str]]:
        from sqlalchemy import select

        async with get_database(self.settings.database_dsn()).session() as session:
            rows = await session.scalars(
                select(EvaluationTransition)
                .where(EvaluationTransition.evaluation_id == evaluation_id)
                .order_by(EvaluationTransition.id))
            return [(r.from_status, r.to_status) for r in rows]


def stack_settings(dsn: str, *, redis_db: int | None = None, **overrides: Any) -> Settings:
    """Settings for one stack. Each stack gets its own Redis DB (by default one per database
    kind) so queued jobs of one suite are never taken by another suite's workers."""
    from pydantic import SecretStr

    base = get_settings()
    if redis_db is None:
        redis_db = 10 if dsn.startswith("sqlite") else 11
    redis_url = base.redis_dsn().rsplit("/", 1)[0] + f"/{redis_db}"
    return base.model_copy(update={"database_url": SecretStr(dsn),
                                   "redis_url": SecretStr(redis_url), **overrides})


async def seed(settings: Settings, tiny_model_dir: Path, tenant: str = "acme") -> str:
    async with get_database(settings.database_dsn()).session() as session:
        await register_model(session, tiny_model_dir, "tiny-gpt2", model_id="tiny-gpt2")
        _, key = await create_key(session, tenant, Role.submitter)
    return key


@contextlib.asynccontextmanager
async def running_stack(
    settings: Settings, tiny_model_dir: Path, *, orchestrator: bool = True
) -> AsyncIterator[Stack]:
    from api.app import create_app

    key = await seed(settings, tiny_model_dir)
    port = free_port()
    server = ManagedServer(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                          log_level="warning", lifespan="on"))
    workers = [build_worker("validator", validate_evaluation, queue.VALIDATE_QUEUE, 2,
                            job_timeout_s=settings.trial_timeout_s + 100, settings=settings,
                            on_start=warm_up)]
    if orchestrator:
        workers.append(build_worker("orchestrator", execute_evaluation, queue.EXECUTE_QUEUE, 2,
                                    job_timeout_s=600, settings=settings))
    workers.append(create_callback_worker(settings))
    tasks = [asyncio.create_task(server.serve())]
    tasks += [asyncio.create_task(w.async_run()) for w in workers]
    while not server.started:
        await asyncio.sleep(0.02)
    stack = Stack(settings, port, key)
    try:
        yield stack
    finally:
        await stack.http.aclose()
        server.should_exit = True
        for worker, task in zip(workers, tasks[1:], strict=True):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await worker.close()
        await tasks[0]
