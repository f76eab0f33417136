"""Fault 1's class: whatever fails in a worker after its claim, no evaluation is left stuck.

The validator and orchestrator job functions run in this process against real
PostgreSQL, Redis and bwrap sandboxes, with a database failure injected at every write
of every stage in turn (once, and for long enough to exhaust the worker's retries).
After each job call the evaluation must be terminal, queued with no owner, or owned
by a worker that no longer holds it (the reconciler hands it back); in the end every
one reaches the status its script earns, with an unbroken chain of transitions.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from evalpod import lifecycle
from evalpod import workers as workers_module
from evalpod.db import Database, get_database
from evalpod.keys import ensure_tenant
from evalpod.lifecycle import EvaluationStatus as S
from evalpod.orm import Evaluation, EvaluationTransition, Model, new_id, utcnow
from evalpod.queue import connect
from evalpod.reconciler import reconcile_once
from evalpod.registry import register_model
from evalpod.settings import Settings
from evalpod.workers import CancelWatcher, WorkerState, beat, holds, new_worker_id
from orchestrator import worker as orchestrator_worker
from orchestrator.gpus import GpuAllocator, detect_gpus
from orchestrator.sandbox import (
    BackendHealth,
    LineSink,
    SandboxBackend,
    SandboxJob,
    SandboxOutcome,
    SandboxProcess,
    SandboxUnavailable,
)
from orchestrator.worker import execute_evaluation
from tests.stack import stack_settings
from validator import worker as validator_worker
from validator.worker import validate_evaluation

PRINTS_NUL = '''
def evaluate_model(model):
    print("a NUL \\x00 in the log")
    return {"accuracy": 1.0, "note": "nul \\x00 here", "bad\\x00key": 2.0}
'''
RAISES_NUL = '''
def evaluate_model(model):
    raise Exception("\\x00")
'''
RUN_RAISES_NUL = '''
def evaluate_model(model):
    print("trial or run \\x00")
    if model.model.config.n_embd == 96:
        raise Exception("only in the real run \\x00")
    return {"accuracy": 0.5}
'''


class WriteFaults:
    """Fails database writes (INSERT/UPDATE/DELETE) number `first` .. `first + count - 1`
    of one engine, counting from when it is armed, as a dropped connection would."""

    def __init__(self) -> None:
        self.first = 0
        self.count = 0
        self.seen = 0
        self.fired = 0

    def arm(self, first: int, count: int) -> None:
        self.first, self.count, self.seen, self.fired = first, count, 0, 0

    def disarm(self) -> None:
        self.count = 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            return
        self.seen += 1
        if self.count and self.first <= self.seen < self.first + self.count:
            self.fired += 1
            raise OperationalError(statement, params, ConnectionResetError("injected fault"))


@contextlib.contextmanager
def injected(db: Database) -> Iterator[WriteFaults]:
    faults = WriteFaults()
    event.listen(db.engine.sync_engine, "before_cursor_execute", faults)
    try:
        yield faults
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", faults)


class CannedBackend(SandboxBackend):
    """Answers every run at once with what PRINTS_NUL gives in the real sandbox (the tests
    of that are above): the write-fault sweep is about the workers' writes, and this keeps
    one sweep point to a fraction of a second instead of a sandbox start."""

    name = "canned"

    async def launch(self, job: SandboxJob) -> SandboxProcess:
        raise NotImplementedError("runs are answered by run()")

    async def health(self) -> BackendHealth:
        raise NotImplementedError

    async def run(self, job: SandboxJob, on_line: LineSink,
                  cancel: asyncio.Event | None = None) -> SandboxOutcome:
        await on_line("a NUL \x00 in the log")
        return SandboxOutcome(status="succeeded", exit_code=0,
                              result={"accuracy": 1.0, "note": "nul \x00 here"})


@dataclass
class Workers:
    settings: Settings
    db: Database
    validator: dict[str, Any]
    orchestrator: dict[str, Any]


@pytest.fixture
def fault_settings(pg_factory: Callable[[str], str]) -> Settings:
    # A loaded CI machine can take longer than the default 20 s to load the shadow model.
    return stack_settings(pg_factory("faults"), redis_db=14, trial_timeout_s=120)


@pytest.fixture
async def workers(fault_settings: Settings, tiny_model_dir: Path) -> AsyncIterator[Workers]:
    settings = fault_settings
    db = get_database(settings.database_dsn())
    async with db.session() as session:
        if await session.get(Model, "tiny-gpt2") is None:
            await register_model(session, tiny_model_dir, "tiny-gpt2", model_id="tiny-gpt2")
    redis = await connect(settings.redis_dsn())
    states = []
    for role in ("validator", "orchestrator"):
        state = WorkerState(role, new_worker_id(role), settings, db, redis, CancelWatcher(redis),
                            GpuAllocator(detect_gpus(settings)))
        await beat(state)  # alive for the whole test: only the held set can free its jobs
        states.append(state)
    yield Workers(settings, db, {"state": states[0]}, {"state": states[1]})
    await redis.aclose()


async def _submit(db: Database, script: str | None) -> str:
    """A submitted evaluation: `script`, or with None an lm_eval one (validated in
    milliseconds, no trial run: the same claim and record writes, quicker)."""
    evaluation_id = new_id("ev")
    kind: dict[str, Any] = ({"kind": "script", "script": script} if script is not None else
                            {"kind": "lm_eval", "tasks": ["evalpod_arith"], "task_limit": 5})
    async with db.session() as session:
        tenant = await ensure_tenant(session, "faults")
        row = lifecycle.evaluation_row(
            id=evaluation_id, tenant_id=tenant.id, model_id="tiny-gpt2", **kind,
            config={"timeout_s": 300}, status=S.pending_validation.value,
            created_at=utcnow(), updated_at=utcnow())
        await lifecycle.insert_submitted(session, row, actor="test")
    return evaluation_id


async def _skip_validation(db: Database, evaluation_id: str) -> None:
    async with db.session() as session:
        await lifecycle.transition(session, evaluation_id, S.validated, actor="test",
                                   reason="validation is tested on its own here")


async def _row(db: Database, evaluation_id: str) -> Evaluation:
    async with db.session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
    assert evaluation is not None
    return evaluation


async def _assert_not_stuck(workers: Workers, evaluation_id: str) -> None:
    """Terminal, or nobody's (queued), or its owner no longer holds it and the reconciler
    hands it back at once: never owned by a live worker that does nothing with it."""
    evaluation = await _row(workers.db, evaluation_id)
    if evaluation.status not in {s.value for s in lifecycle.LIVE} or evaluation.owner is None:
        return
    state: WorkerState = workers.orchestrator["state"]
    assert not await holds(state.redis, evaluation.owner, evaluation_id), evaluation.status
    await reconcile_once(workers.db, state.redis, workers.settings, actor="test-reconciler")
    after = await _row(workers.db, evaluation_id)
    assert after.status in {s.value for s in lifecycle.TERMINAL} or after.owner is None, (
        after.status, after.owner)


async def _drive(workers: Workers, evaluation_id: str, faults: WriteFaults | None = None,
                 until: frozenset[S] = lifecycle.TERMINAL) -> Evaluation:
    """Run whichever stage the evaluation is in until it is terminal or in `until` (at most
    8 stages); faults, if armed, apply to the first stage run only."""
    for _ in range(8):
        evaluation = await _row(workers.db, evaluation_id)
        if evaluation.status in until:
            return evaluation
        if evaluation.status == S.pending_validation:
            await validate_evaluation(workers.validator, evaluation_id)
        elif evaluation.status == S.validated:
            await execute_evaluation(workers.orchestrator, evaluation_id)
        else:
            assert evaluation.status in {s.value for s in lifecycle.TERMINAL}, evaluation.status
            return evaluation
        if faults is not None:
            faults.disarm()
        await _assert_not_stuck(workers, evaluation_id)
    raise AssertionError(f"{evaluation_id} not terminal after 8 stages")


async def _chain(db: Database, evaluation_id: str) -> list[tuple[str | None, str]]:
    async with db.session() as session:
        rows = await session.scalars(select(EvaluationTransition).where(
            EvaluationTransition.evaluation_id == evaluation_id
        ).order_by(EvaluationTransition.id))
        chain = [(r.from_status, r.to_status) for r in rows]
    for (_, to), (following, _) in itertools.pairwise(chain):
        assert following == to, chain  # every change recorded, none skipped
    return chain


@pytest.mark.parametrize(("script", "validate", "status"), [
    (PRINTS_NUL, True, S.succeeded), (RAISES_NUL, True, S.validation_failed),
    (RAISES_NUL, False, S.failed),
], ids=["prints-nul", "raises-nul-in-trial", "raises-nul-in-run"])
async def test_sandbox_text_with_nul_reaches_a_terminal_status(
    workers: Workers, script: str, validate: bool, status: S
) -> None:
    """The issue's examples: NUL in the log, the error and the result (keys too)."""
    evaluation_id = await _submit(workers.db, script)
    if not validate:
        await _skip_validation(workers.db, evaluation_id)
    evaluation = await _drive(workers, evaluation_id)
    assert evaluation.status == status, (evaluation.error, evaluation.violation,
                                         evaluation.findings)
    chain = await _chain(workers.db, evaluation_id)
    assert chain[-1][1] == status
    if status == S.succeeded:
        assert evaluation.result is not None and evaluation.result["note"] == "nul \ufffd here"
        assert "bad\ufffdkey" in evaluation.result
    else:
        assert evaluation.error and "\x00" not in evaluation.error


@pytest.mark.parametrize("lasting", [1, 12], ids=["once", "past-retries"])
@pytest.mark.parametrize("stage", ["validate", "execute"])
async def test_a_failed_write_at_any_point_leaves_nothing_stuck(
    workers: Workers, stage: str, lasting: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inject a failure at write 1, 2, … of one stage (once, or long enough that the
    worker's retries and its hand-back fail too) until the stage makes fewer writes than
    the injection point; each time the evaluation must come through."""
    monkeypatch.setattr(workers_module, "RETRY_DELAYS_S", (0.05, 0.1))
    point = 1
    while True:
        if stage == "validate":
            evaluation_id = await _submit(workers.db, None)
            wanted, until = S.validated, frozenset({S.validated}) | lifecycle.TERMINAL
        else:
            workers.orchestrator["state"]._backend = CannedBackend()
            evaluation_id = await _submit(workers.db, PRINTS_NUL)
            await _skip_validation(workers.db, evaluation_id)
            wanted, until = S.succeeded, lifecycle.TERMINAL
        with injected(workers.db) as faults:
            faults.arm(point, lasting)
            evaluation = await _drive(workers, evaluation_id, faults, until)
            fired = faults.fired
        assert evaluation.status == wanted, (point, evaluation.error)
        chain = await _chain(workers.db, evaluation_id)
        assert chain.count(("executing", "succeeded")) <= 1, chain
        if not fired:
            assert point > 2, "the injection never fired"
            break
        point += 1


class UnavailableBackend(CannedBackend):
    """A host that cannot sandbox at all (no cgroups, bwrap gone)."""

    async def run(self, job: SandboxJob, on_line: LineSink,
                  cancel: asyncio.Event | None = None) -> SandboxOutcome:
        raise SandboxUnavailable("isolation features missing on this host: cgroups")


async def test_a_host_that_cannot_sandbox_fails_the_validation_in_the_end(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not re-queued forever: each refusal counts as a lost validation (max_attempts)."""
    monkeypatch.setattr(validator_worker, "UNAVAILABLE_BACKOFF", timedelta(0))
    workers.validator["state"]._backend = UnavailableBackend()
    try:
        evaluation_id = await _submit(workers.db, PRINTS_NUL)
        evaluation = await _drive(workers, evaluation_id)
    finally:
        workers.validator["state"]._backend = None
    assert evaluation.status == S.failed, evaluation.status
    assert "sandbox unavailable" in (evaluation.error or "") + " ".join(
        reason for reason in await _reasons(workers.db, evaluation_id))
    chain = await _chain(workers.db, evaluation_id)
    assert chain.count(("pending_validation", "pending_validation")) == \
        workers.settings.max_attempts - 1


async def _reasons(db: Database, evaluation_id: str) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(select(EvaluationTransition.reason).where(
            EvaluationTransition.evaluation_id == evaluation_id)))


@pytest.mark.parametrize("stage", ["validate", "execute"])
async def test_a_bug_after_the_claim_hands_the_evaluation_back(
    workers: Workers, stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only failed writes: any exception in a stage's work after its claim re-queues
    the evaluation at once (`evalpod.workers.run_claimed`, shared by both workers), with
    the worker's role and the error in the recorded reason."""

    async def bug(*_: Any) -> Any:
        raise RuntimeError("a bug")

    if stage == "validate":
        monkeypatch.setattr(validator_worker, "validate", bug)
        evaluation_id = await _submit(workers.db, None)
        answer = await validate_evaluation(workers.validator, evaluation_id)
        role, requeued = "validator", S.pending_validation
    else:
        monkeypatch.setattr(orchestrator_worker, "_execute", bug)
        evaluation_id = await _submit(workers.db, PRINTS_NUL)
        await _skip_validation(workers.db, evaluation_id)
        answer = await execute_evaluation(workers.orchestrator, evaluation_id)
        role, requeued = "orchestrator", S.validated
    assert answer == "handed-back"
    evaluation = await _row(workers.db, evaluation_id)
    assert (evaluation.status, evaluation.owner) == (requeued, None)
    assert f"{role} error: RuntimeError: a bug" in (await _reasons(workers.db, evaluation_id))[-1]
    await _chain(workers.db, evaluation_id)
