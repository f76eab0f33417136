"""The activity feed: rows written in the same transaction as the change they describe."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evalpod.orm import ActivityEvent, utcnow

EVALUATION_EVENTS: dict[str, str] = {
    "pending_validation": "evaluation.submitted",
    "validated": "evaluation.validated",
    "validation_failed": "evaluation.rejected",
    "succeeded": "evaluation.finished",
    "failed": "evaluation.finished",
    "cancelled": "evaluation.finished",
    "killed": "evaluation.killed",
}


def record(
    session: AsyncSession,
    *,
    tenant_id: str,
    event_type: str,
    entity_type: str,
    entity_id: str,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(ActivityEvent(tenant_id=tenant_id, event_type=event_type,
                              entity_type=entity_type, entity_id=entity_id, actor=actor,
                              data=data or {}, created_at=utcnow()))


def record_evaluation_status(
    session: AsyncSession, *, tenant_id: str, evaluation_id: str, status: str, actor: str,
    reason: str, previous: str | None,
) -> None:
    row = evaluation_status_row(tenant_id=tenant_id, evaluation_id=evaluation_id,
                                status=status, actor=actor, reason=reason, previous=previous)
    if row is not None:
        session.add(ActivityEvent(**row))


def evaluation_status_row(
    *, tenant_id: str, evaluation_id: str, status: str, actor: str, reason: str,
    previous: str | None,
) -> dict[str, Any] | None:
    """The activity row for a status change, or None for changes the feed does not show."""
    event_type = EVALUATION_EVENTS.get(status)
    if event_type is None or previous == status:
        return None
    return {"tenant_id": tenant_id, "event_type": event_type, "entity_type": "evaluation",
            "entity_id": evaluation_id, "actor": actor,
            "data": {"status": status, "from": previous, "reason": reason[:500]},
            "created_at": utcnow()}
