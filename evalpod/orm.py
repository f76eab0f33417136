"""SQLAlchemy tables: tenants, API keys, evaluations, their transitions, models."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class _RandomIds:
    """128-bit ids from the OS's CSPRNG, read 256 at a time: `uuid.uuid4` makes one
    getrandom call per id, which cost more than the rest of building a submit's row. The
    buffer is dropped in a forked child, which must not hand out its parent's ids."""

    _BATCH = 256 * 16

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()  # a thread of the parent may have held it
        self._buffer, self._offset = b"", 0

    def next_hex(self) -> str:
        with self._lock:
            if self._offset >= len(self._buffer):
                self._buffer, self._offset = os.urandom(self._BATCH), 0
            start = self._offset
            self._offset = start + 16
            return self._buffer[start : start + 16].hex()


_random_ids = _RandomIds()


def new_id(prefix: str) -> str:
    """`<prefix>_` and 32 hex digits of 128 random bits (unguessable, as uuid4's 122)."""
    return f"{prefix}_{_random_ids.next_hex()}"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both PostgreSQL and SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


def table_of(entity: type[Base]) -> Table:
    """The Core table behind a mapped class, for plain INSERTs on hot paths."""
    return Base.metadata.tables[entity.__tablename__]


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    policy: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    limits: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    callback_secret: Mapped[str] = mapped_column(String(128))
    # After a rotation the old secret still signs deliveries until it expires, so receivers
    # can switch to the new one without dropping a callback.
    previous_callback_secret: Mapped[str | None] = mapped_column(String(128), default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    callback_secret_rotated_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Model(Base):
    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    family: Mapped[str | None] = mapped_column(String(64), default=None)
    parameters: Mapped[int | None] = mapped_column(BigInteger, default=None)
    dtype: Mapped[str | None] = mapped_column(String(32), default=None)
    context_length: Mapped[int | None] = mapped_column(Integer, default=None)
    storage_path: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16), default="staging")
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("models.id"), default=None)
    evaluation_policy: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Evaluation(Base):
    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_evaluations_idempotency"),
        Index("ix_evaluations_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_evaluations_status_priority", "status", "priority", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"))
    kind: Mapped[str] = mapped_column(String(16), default="script")
    script: Mapped[str | None] = mapped_column(Text, default=None)
    tasks: Mapped[list[Any] | None] = mapped_column(default=None)
    num_fewshot: Mapped[int] = mapped_column(Integer, default=0)
    task_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(32), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    callback_url: Mapped[str | None] = mapped_column(Text, default=None)
    findings: Mapped[list[Any] | None] = mapped_column(default=None)
    validation_report: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    validation_log: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    violation: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    exit_code: Mapped[int | None] = mapped_column(Integer, default=None)
    owner: Mapped[str | None] = mapped_column(String(128), default=None)
    queue_job_id: Mapped[str | None] = mapped_column(String(128), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    validated_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # Dataset versions mounted at /data (ids of `dataset_versions`), and the benchmark
    # version this evaluation runs for (only those satisfy promotion gates).
    dataset_versions: Mapped[list[Any] | None] = mapped_column(default=None)
    benchmark_id: Mapped[str | None] = mapped_column(
        ForeignKey("benchmarks.id"), default=None, index=True)


class EvaluationTransition(Base):
    """Append-only: one row per status change (and per re-queue), never updated."""

    __tablename__ = "evaluation_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[str] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(32), default=None)
    to_status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActivityEvent(Base):
    """The tenant's activity feed: what happened to its evaluations and models."""

    __tablename__ = "activity_events"
    __table_args__ = (Index("ix_activity_tenant_id", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(128))
    actor: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class ModelStageEvent(Base):
    """Audit of every model stage change: who, when, why, which evaluations justified it."""

    __tablename__ = "model_stage_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    approval_ref: Mapped[str | None] = mapped_column(String(200), default=None)
    evaluation_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallbackAttempt(Base):
    """One POST of a terminal-status callback; kept so attempts show on the evaluation."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[str] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer)
    response_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dataset(Base):
    """A named dataset of one tenant; its data lives in immutable `DatasetVersion`s."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_datasets_tenant_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    modality: Mapped[str] = mapped_column(String(32), default="text")
    task_type: Mapped[str | None] = mapped_column(String(64), default=None)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    visibility: Mapped[str] = mapped_column(String(16), default="tenant")
    created_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class DatasetVersion(Base):
    """One uploaded file, checked in the sandbox: `processing` until `ready` or `failed`."""

    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_version"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    file_format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(64), default="test")
    id_column: Mapped[str] = mapped_column(String(128), default="id")
    hidden_columns: Mapped[list[Any]] = mapped_column(default=list)
    storage_path: Mapped[str] = mapped_column(Text)
    data_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    hidden_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    row_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    splits: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    columns: Mapped[list[Any] | None] = mapped_column(default=None)
    statistics: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    report: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    queue_job_id: Mapped[str | None] = mapped_column(String(128), default=None)
    created_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class Benchmark(Base):
    """One immutable version of a named benchmark: what runs, on which data, scored how."""

    __tablename__ = "benchmarks"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_benchmarks_version"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="script")
    script: Mapped[str | None] = mapped_column(Text, default=None)
    script_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    tasks: Mapped[list[Any] | None] = mapped_column(default=None)
    num_fewshot: Mapped[int] = mapped_column(Integer, default=0)
    task_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    dataset_versions: Mapped[list[Any]] = mapped_column(default=list)
    scorer: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    primary_metric: Mapped[str] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(8), default="higher")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    created_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
