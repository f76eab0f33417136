"""The lifecycle rules: compare-and-swap transitions with an audit row, on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from evalpod import lifecycle
from evalpod.db import get_database
from evalpod.errors import IllegalTransition, JobNotFound
from evalpod.keys import ensure_tenant
from evalpod.lifecycle import EvaluationStatus as S
from evalpod.orm import ActivityEvent, Evaluation, EvaluationTransition, Model, new_id, utcnow


async def _tenant_with_model(session: AsyncSession) -> str:
    tenant = await ensure_tenant(session, "lifecycle")
    if await session.get(Model, "m-lifecycle") is None:
        session.add(Model(id="m-lifecycle", name="m", storage_path="/nowhere", checksum="0"))
        await session.flush()
    return tenant.id


async def _new_evaluation(dsn: str) -> str:
    async with get_database(dsn).session() as session:
        tenant_id = await _tenant_with_model(session)
        evaluation_id = new_id("ev")
        now = utcnow()
        session.add(Evaluation(id=evaluation_id, tenant_id=tenant_id, model_id="m-lifecycle",
                               status=S.pending_validation.value, created_at=now, updated_at=now))
        await session.flush()
        await lifecycle.record_creation(session, evaluation_id, actor="test", at=now,
                                        tenant_id=tenant_id)
    return evaluation_id


async def _history(dsn: str, evaluation_id: str) -> list[tuple[str | None, str, str]]:
    async with get_database(dsn).session() as session:
        rows = await session.scalars(select(EvaluationTransition).where(
            EvaluationTransition.evaluation_id == evaluation_id).order_by(EvaluationTransition.id))
        return [(r.from_status, r.to_status, r.reason) for r in rows]


async def test_happy_path_records_every_transition(any_dsn: str) -> None:
    evaluation_id = await _new_evaluation(any_dsn)
    for target in (S.validated, S.executing, S.succeeded):
        async with get_database(any_dsn).session() as session:
            await lifecycle.transition(session, evaluation_id, target, actor="t",
                                       reason=f"to {target}")
    history = await _history(any_dsn, evaluation_id)
    assert [(f, t) for f, t, _ in history] == [
        (None, "pending_validation"), ("pending_validation", "validated"),
        ("validated", "executing"), ("executing", "succeeded"),
    ]
    async with get_database(any_dsn).session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        assert evaluation is not None
        assert evaluation.validated_at and evaluation.started_at and evaluation.finished_at


async def test_illegal_transition_is_an_error_not_an_overwrite(any_dsn: str) -> None:
    evaluation_id = await _new_evaluation(any_dsn)
    async with get_database(any_dsn).session() as session:
        await lifecycle.transition(session, evaluation_id, S.cancelled, actor="t", reason="stop")
    with pytest.raises(IllegalTransition) as caught:
        async with get_database(any_dsn).session() as session:
            await lifecycle.transition(session, evaluation_id, S.validated, actor="t", reason="x")
    assert caught.value.current == S.cancelled
    async with get_database(any_dsn).session() as session:
        assert await lifecycle.current_status(session, evaluation_id) == S.cancelled
    assert len(await _history(any_dsn, evaluation_id)) == 2


async def test_failed_transition_rolls_back_its_fields(any_dsn: str) -> None:
    evaluation_id = await _new_evaluation(any_dsn)
    with pytest.raises(IllegalTransition):
        async with get_database(any_dsn).session() as session:
            await lifecycle.transition(session, evaluation_id, S.succeeded, actor="t",
                                       reason="skip", values={"result": {"a": 1}})
    async with get_database(any_dsn).session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        assert evaluation is not None and evaluation.result is None


async def test_concurrent_claims_have_exactly_one_winner(pg_dsn: str) -> None:
    evaluation_id = await _new_evaluation(pg_dsn)
    async with get_database(pg_dsn).session() as session:
        await lifecycle.transition(session, evaluation_id, S.validated, actor="t", reason="ok")

    async def claim(worker: str) -> bool:
        try:
            async with get_database(pg_dsn).session() as session:
                await lifecycle.transition(session, evaluation_id, S.executing, actor=worker,
                                           reason="claim", values={"owner": worker})
            return True
        except IllegalTransition:
            return False

    results = await asyncio.gather(*(claim(f"w{i}") for i in range(10)))
    assert sum(results) == 1
    history = await _history(pg_dsn, evaluation_id)
    assert [t for _, t, _ in history].count("executing") == 1


async def test_expected_narrows_the_rule(any_dsn: str) -> None:
    evaluation_id = await _new_evaluation(any_dsn)
    with pytest.raises(IllegalTransition):
        async with get_database(any_dsn).session() as session:
            await lifecycle.transition(session, evaluation_id, S.failed, actor="t", reason="x",
                                       expected=S.executing)


async def test_unknown_evaluation_is_not_found(any_dsn: str) -> None:
    with pytest.raises(JobNotFound):
        async with get_database(any_dsn).session() as session:
            await lifecycle.transition(session, "ev_missing", S.cancelled, actor="t", reason="x")


def test_rules_cover_every_status_and_terminal_states_are_final() -> None:
    assert set(lifecycle.RULES) == set(S)
    for rule in lifecycle.RULES.values():
        assert not (rule.from_states & lifecycle.TERMINAL), rule


async def _submitted_row(dsn: str, evaluation_id: str) -> dict[str, object]:
    async with get_database(dsn).session() as session:
        tenant_id = await _tenant_with_model(session)
    now = utcnow()
    return lifecycle.evaluation_row(
        id=evaluation_id, tenant_id=tenant_id, model_id="m-lifecycle",
        status=S.pending_validation.value, created_at=now, updated_at=now)


async def _rows_about(dsn: str, evaluation_id: str) -> tuple[int, int, int]:
    async with get_database(dsn).session() as session:
        counts = []
        for table, column in ((Evaluation, Evaluation.id),
                              (EvaluationTransition, EvaluationTransition.evaluation_id),
                              (ActivityEvent, ActivityEvent.entity_id)):
            counts.append(await session.scalar(
                select(func.count()).select_from(table).where(column == evaluation_id)))
        return counts[0], counts[1], counts[2]


async def test_insert_submitted_writes_all_three_rows_with_column_defaults(any_dsn: str) -> None:
    evaluation_id = new_id("ev")
    row = await _submitted_row(any_dsn, evaluation_id)
    async with get_database(any_dsn).session() as session:
        await lifecycle.insert_submitted(session, row, actor="key-1")
    assert await _rows_about(any_dsn, evaluation_id) == (1, 1, 1)
    assert await _history(any_dsn, evaluation_id) == [(None, "pending_validation", "submitted")]
    async with get_database(any_dsn).session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        assert evaluation is not None
        # Unset columns took the model's defaults, as an ORM flush would have given them.
        assert (evaluation.kind, evaluation.attempts, evaluation.config, evaluation.tags) == \
            ("script", 0, {}, {})


def test_evaluation_row_refuses_unknown_columns() -> None:
    with pytest.raises(TypeError, match="stauts"):
        lifecycle.evaluation_row(id="ev_1", stauts="pending_validation")


async def test_insert_submitted_is_all_or_nothing(any_dsn: str) -> None:
    evaluation_id = new_id("ev")
    row = await _submitted_row(any_dsn, evaluation_id)
    async with get_database(any_dsn).session() as session:
        await lifecycle.insert_submitted(session, row, actor="key-1")
    with pytest.raises(IntegrityError):
        async with get_database(any_dsn).session() as session:
            await lifecycle.insert_submitted(session, row, actor="key-2")
    # The duplicate left no second transition or activity row behind.
    assert await _rows_about(any_dsn, evaluation_id) == (1, 1, 1)


UNSTORABLE = "nul \x00, lone surrogates \ud800 \udfff, a pair \ud83d\ude00"


async def test_sandbox_text_in_a_transition_is_stored_on_both_databases(any_dsn: str) -> None:
    """Fault 1: NUL and lone surrogates in a reason, an error and a JSON result (keys too)."""
    evaluation_id = await _new_evaluation(any_dsn)
    async with get_database(any_dsn).session() as session:
        await lifecycle.transition(
            session, evaluation_id, S.failed, actor="test", reason=UNSTORABLE,
            values={"error": UNSTORABLE, "validation_log": UNSTORABLE,
                    "result": {UNSTORABLE: [UNSTORABLE, float("nan"), 1.5, True, None]}})
    async with get_database(any_dsn).session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        reasons = list(await session.scalars(select(EvaluationTransition.reason).where(
            EvaluationTransition.evaluation_id == evaluation_id)))
    stored = "nul \ufffd, lone surrogates \ufffd \ufffd, a pair \ufffd\ufffd"
    assert evaluation is not None
    assert evaluation.error == stored and evaluation.validation_log == stored
    assert evaluation.result == {stored: [stored, None, 1.5, True, None]}
    assert reasons[-1] == stored
