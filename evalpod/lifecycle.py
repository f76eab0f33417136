"""The evaluation lifecycle: the allowed status changes, and the one function that makes them.

Every change of status goes through `transition`, which is a compare-and-swap
(`UPDATE … WHERE id = :id AND status = :seen`) plus an append-only transition row,
in the caller's transaction. A lost race is an `IllegalTransition`, never an
overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from evalpod import activity
from evalpod.errors import IllegalTransition, JobNotFound
from evalpod.orm import ActivityEvent, Evaluation, EvaluationTransition, table_of, utcnow
from evalpod.storable import storable_json, storable_text


class EvaluationStatus(StrEnum):
    pending_validation = "pending_validation"
    validation_failed = "validation_failed"
    validated = "validated"
    executing = "executing"
    succeeded = "succeeded"
    failed = "failed"
    killed = "killed"
    cancelled = "cancelled"


S = EvaluationStatus

TERMINAL: frozenset[EvaluationStatus] = frozenset(
    {S.validation_failed, S.succeeded, S.failed, S.killed, S.cancelled}
)
LIVE: frozenset[EvaluationStatus] = frozenset(set(S) - TERMINAL)


@dataclass(frozen=True)
class Rule:
    """Which statuses may move to `to`, and why the rule exists."""

    to: EvaluationStatus
    from_states: frozenset[EvaluationStatus]
    why: str


RULES: dict[EvaluationStatus, Rule] = {
    rule.to: rule
    for rule in (
        Rule(
            S.pending_validation,
            frozenset({S.pending_validation}),
            "Re-queue of validation after its worker died; it never leaves the stage.",
        ),
        Rule(
            S.validated,
            frozenset({S.pending_validation, S.executing, S.validated}),
            "From executing only when the reconciler finds the run's owner dead: the job "
            "goes back to the queue instead of being lost. validated→validated records a "
            "re-queue of a delivery that Redis lost.",
        ),
        Rule(
            S.validation_failed,
            frozenset({S.pending_validation}),
            "Static analysis or the trial run rejected the script.",
        ),
        Rule(
            S.executing,
            frozenset({S.validated}),
            "Claiming the run: a second worker handed the same job loses the swap and drops it.",
        ),
        Rule(
            S.succeeded,
            frozenset({S.executing}),
            "Only the owner of a run records its result; a cancel that won first stays.",
        ),
        Rule(S.failed, frozenset({S.executing, S.validated, S.pending_validation}),
             "A run failed, or the reconciler gave up after max attempts."),
        Rule(S.killed, frozenset({S.executing}), "The monitor killed a run for a violation."),
        Rule(
            S.cancelled,
            frozenset({S.pending_validation, S.validated, S.executing}),
            "The owner asked; workers see the status and stop their sandbox.",
        ),
    )
}

TIMESTAMP_ON_ENTRY: dict[EvaluationStatus, str] = {
    S.validated: "validated_at",
    S.executing: "started_at",
    **{status: "finished_at" for status in TERMINAL},
}


def can_transition(current: EvaluationStatus, target: EvaluationStatus) -> bool:
    return current in RULES[target].from_states


async def transition(
    session: AsyncSession,
    evaluation_id: str,
    to: EvaluationStatus,
    *,
    actor: str,
    reason: str,
    expected: EvaluationStatus | frozenset[EvaluationStatus] | None = None,
    values: dict[str, Any] | None = None,
    guard: dict[str, Any] | None = None,
) -> EvaluationStatus:
    """Move one evaluation to `to`; return the status it had.

    `expected` narrows the rule's allowed sources (e.g. a worker that only
    finishes what it is executing). `guard` adds column values that must still
    hold: a re-queue (same status before and after) would otherwise let two
    reconcilers both win. `values` and `reason` may carry sandbox text: they are made
    storable (`evalpod.storable`) here, so no script output can make the write fail.
    Raises `JobNotFound` or `IllegalTransition`.
    """
    reason = storable_text(reason)
    current, tenant_id = await _status_and_tenant(session, evaluation_id)
    allowed = RULES[to].from_states
    if expected is not None:
        allowed = allowed & (expected if isinstance(expected, frozenset) else {expected})
    if current not in allowed:
        raise IllegalTransition(evaluation_id, current, to)
    now = utcnow()
    fields: dict[str, Any] = {"status": to.value, "updated_at": now,
                              **_storable_values(values)}
    stamp = TIMESTAMP_ON_ENTRY.get(to)
    if stamp and to != current:
        fields.setdefault(stamp, now)
    result = await session.execute(
        update(Evaluation)
        .where(Evaluation.id == evaluation_id, Evaluation.status == current.value,
               *_guard_clauses(guard))
        .values(**fields)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise IllegalTransition(evaluation_id, (await current_status(session, evaluation_id)), to)
    session.add(
        EvaluationTransition(
            evaluation_id=evaluation_id,
            from_status=current.value,
            to_status=to.value,
            actor=actor,
            reason=reason[:4000],
            created_at=now,
        )
    )
    activity.record_evaluation_status(
        session, tenant_id=tenant_id, evaluation_id=evaluation_id, status=to.value,
        actor=actor, reason=reason, previous=current.value,
    )
    await session.flush()
    return current


def _storable_values(values: dict[str, Any] | None) -> dict[str, Any]:
    return {name: storable_json(value) for name, value in (values or {}).items()}


def _guard_clauses(guard: dict[str, Any] | None) -> list[Any]:
    clauses = []
    for name, value in (guard or {}).items():
        column = getattr(Evaluation, name)
        clauses.append(column.is_(None) if value is None else column == value)
    return clauses


_EVALUATION_TABLE = table_of(Evaluation)
_INSERT_EVALUATION = insert(_EVALUATION_TABLE)
_INSERT_TRANSITION = insert(table_of(EvaluationTransition))
_INSERT_ACTIVITY = insert(table_of(ActivityEvent))


def _bound_insert(table: Table, prefix: str, columns: list[str]) -> Insert:
    return insert(table).values({name: bindparam(prefix + name) for name in columns})


_TRANSITION_COLUMNS = ["evaluation_id", "from_status", "to_status", "actor", "reason",
                       "created_at"]
_ACTIVITY_COLUMNS = ["tenant_id", "event_type", "entity_type", "entity_id", "actor", "data",
                     "created_at", "read_at"]

# PostgreSQL runs data-modifying CTEs with the main INSERT as one statement, all or nothing;
# the foreign keys are checked at its end, once the evaluation row exists.
_INSERT_SUBMITTED = _bound_insert(
    _EVALUATION_TABLE, "e_", [c.key for c in _EVALUATION_TABLE.columns]
).add_cte(
    _bound_insert(table_of(EvaluationTransition), "t_", _TRANSITION_COLUMNS)
    .cte("first_transition"),
    _bound_insert(table_of(ActivityEvent), "a_", _ACTIVITY_COLUMNS).cte("submitted_activity"),
)


def _column_default(column: Any) -> tuple[str, Any, Any]:
    default: Any = column.default
    if default is None:
        return column.key, None, None
    return (column.key, None, default.arg) if default.is_callable else (
        column.key, default.arg, None)


# (key, constant default, default factory) of each column, read once: a submit builds a row.
_EVALUATION_DEFAULTS = [_column_default(column) for column in _EVALUATION_TABLE.columns]


def evaluation_row(**values: Any) -> dict[str, Any]:
    """Every column of a new evaluation: `values`, and the columns' own defaults for the rest
    (what an ORM flush would have filled in)."""
    row = {}
    for key, constant, factory in _EVALUATION_DEFAULTS:
        value = values.pop(key, None)
        if value is None:
            value = factory(None) if factory is not None else constant
        row[key] = value
    if values:
        raise TypeError(f"not columns of evaluations: {sorted(values)}")
    return row


async def insert_submitted(session: AsyncSession, row: dict[str, Any], *, actor: str) -> None:
    """A new evaluation (`evaluation_row`) with its first transition and activity row.

    On PostgreSQL one statement, so the submit hot path pays one round trip instead of
    three; SQLite has no INSERT inside WITH, so it gets the three statements."""
    assert session.bind is not None
    if session.bind.dialect.name != "postgresql":
        await session.execute(_INSERT_EVALUATION, [row])
        await record_creation(session, row["id"], actor=actor, at=row["created_at"],
                              tenant_id=row["tenant_id"])
        return
    await session.execute(_INSERT_SUBMITTED, _submitted_params(row, actor))


def _submitted_params(row: dict[str, Any], actor: str) -> dict[str, Any]:
    transition, activity_row = _creation_rows(row["id"], actor, row["created_at"],
                                              row["tenant_id"])
    assert activity_row is not None, "a submitted evaluation always shows in the feed"
    params = {"e_" + key: value for key, value in row.items()}
    params.update({"t_" + key: transition[key] for key in _TRANSITION_COLUMNS})
    params.update({"a_" + key: activity_row[key] for key in _ACTIVITY_COLUMNS})
    return params


def _creation_rows(evaluation_id: str, actor: str, at: datetime, tenant_id: str
                   ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The first transition (from nothing to pending_validation) and its activity row."""
    transition = {
        "evaluation_id": evaluation_id, "from_status": None,
        "to_status": S.pending_validation.value, "actor": actor, "reason": "submitted",
        "created_at": at,
    }
    row = activity.evaluation_status_row(
        tenant_id=tenant_id, evaluation_id=evaluation_id, status=S.pending_validation.value,
        actor=actor, reason="submitted", previous=None,
    )
    return transition, None if row is None else {"read_at": None, **row}


async def insert_many_submitted(connection: AsyncConnection,
                                entries: list[tuple[dict[str, Any], str]]) -> None:
    """New evaluations (`evaluation_row`, actor) with their first transitions and activity
    rows, as `insert_submitted` writes one. On PostgreSQL only: `_INSERT_SUBMITTED` once per
    entry as one executemany (asyncpg pipelines it: one prepared statement, one round trip,
    all or nothing)."""
    assert connection.dialect.name == "postgresql", "INSERT inside WITH"
    await connection.execute(_INSERT_SUBMITTED, [_submitted_params(row, actor)
                                                 for row, actor in entries])


async def record_creation(
    session: AsyncSession, evaluation_id: str, *, actor: str, at: datetime,
    tenant_id: str,
) -> None:
    """The first transition row of an evaluation (from nothing to pending_validation).

    Plain INSERTs rather than ORM objects: nothing reads the rows back in that request."""
    transition, activity_row = _creation_rows(evaluation_id, actor, at, tenant_id)
    await session.execute(_INSERT_TRANSITION, [transition])
    if activity_row is not None:
        await session.execute(_INSERT_ACTIVITY, [activity_row])


async def _status_and_tenant(
    session: AsyncSession, evaluation_id: str
) -> tuple[EvaluationStatus, str]:
    row = (await session.execute(
        select(Evaluation.status, Evaluation.tenant_id).where(Evaluation.id == evaluation_id)
    )).first()
    if row is None:
        raise JobNotFound(f"evaluation {evaluation_id} not found")
    return EvaluationStatus(row[0]), row[1]


async def current_status(session: AsyncSession, evaluation_id: str) -> EvaluationStatus:
    status = await session.scalar(
        select(Evaluation.status).where(Evaluation.id == evaluation_id)
    )
    if status is None:
        raise JobNotFound(f"evaluation {evaluation_id} not found")
    return EvaluationStatus(status)


async def set_fields(
    session: AsyncSession,
    evaluation_id: str,
    *,
    expected: EvaluationStatus,
    values: dict[str, Any],
    guard: dict[str, Any] | None = None,
) -> bool:
    """Update non-status fields (owner, queue job id) only while the status is `expected`
    (and the `guard` columns still hold). Returns whether the row was updated."""
    result = await session.execute(
        update(Evaluation)
        .where(Evaluation.id == evaluation_id, Evaluation.status == expected.value,
               *_guard_clauses(guard))
        .values(updated_at=utcnow(), **_storable_values(values))
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1
