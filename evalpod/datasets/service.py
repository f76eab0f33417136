"""Dataset registry use cases: create, upload a version, list, read, soft delete, resolve.

Sessions come injected. An upload is received outside any transaction (it may take
minutes), then its version row is inserted and the file published in one short one;
the in-sandbox check is enqueued only after that commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from evalpod import activity
from evalpod.datasets import storage
from evalpod.datasets.errors import (
    DatasetExists,
    DatasetNotFound,
    DatasetNotFoundHttp,
    DatasetVersionExists,
    StorageFull,
)
from evalpod.db import Database
from evalpod.errors import InvalidConfig
from evalpod.keys import Principal
from evalpod.orm import (
    Benchmark,
    Dataset,
    DatasetVersion,
    Evaluation,
    Tenant,
    new_id,
    utcnow,
)
from evalpod.settings import Settings

FORMATS = ("jsonl", "csv", "parquet")
REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,127})@(?P<version>[A-Za-z0-9_.-]{1,64})$")


class VersionStatus(StrEnum):
    processing = "processing"
    ready = "ready"
    failed = "failed"


class Visibility(StrEnum):
    tenant = "tenant"
    public = "public"


@dataclass(frozen=True)
class DatasetFields:
    name: str
    description: str
    modality: str
    task_type: str | None
    tags: list[str]
    visibility: Visibility


@dataclass(frozen=True)
class VersionFields:
    """What the uploader declares about a new version (query parameters of the upload)."""

    version: str
    file_format: str
    split: str
    id_column: str
    hidden_columns: list[str]


def _visible(principal: Principal) -> Any:
    return or_(Dataset.tenant_id == principal.tenant_id,
               Dataset.visibility == Visibility.public.value)


async def create_dataset(session: AsyncSession, principal: Principal, fields: DatasetFields
                         ) -> Dataset:
    """A new dataset of the caller's tenant. Only admins may make it visible to everyone.

    Raises `DatasetExists` (409) for a name the tenant already uses.
    """
    if fields.visibility == Visibility.public and not principal.is_admin:
        raise InvalidConfig("only an admin may share a dataset with every tenant", detail={
            "errors": [{"field": "visibility", "message": "needs the admin role"}]})
    dataset = Dataset(id=new_id("ds"), tenant_id=principal.tenant_id, name=fields.name,
                      description=fields.description, modality=fields.modality,
                      task_type=fields.task_type, tags=fields.tags,
                      visibility=fields.visibility.value, created_by=principal.key_id,
                      created_at=utcnow())
    try:
        async with session.begin_nested():
            session.add(dataset)
    except IntegrityError as exc:
        raise DatasetExists(f"dataset {fields.name!r} already exists",
                            detail={"name": fields.name}) from exc
    activity.record(session, tenant_id=principal.tenant_id, event_type="dataset.created",
                    entity_type="dataset", entity_id=dataset.id, actor=principal.key_id,
                    data={"name": fields.name})
    return dataset


async def find_dataset(session: AsyncSession, principal: Principal, ref: str, *,
                       owned: bool = False) -> Dataset:
    """A dataset by id or name: the caller's own first, then a public one (unless `owned`).

    Another tenant's private dataset is indistinguishable from a missing one (404).
    """
    query = select(Dataset).where(Dataset.deleted_at.is_(None),
                                  or_(Dataset.id == ref, Dataset.name == ref))
    query = query.where(Dataset.tenant_id == principal.tenant_id if owned
                        else _visible(principal))
    rows = list(await session.scalars(query))
    rows.sort(key=lambda d: d.tenant_id != principal.tenant_id)
    if not rows:
        raise DatasetNotFoundHttp(f"dataset {ref!r} not found", detail={"dataset": ref})
    return rows[0]


async def versions_of(session: AsyncSession, dataset_id: str) -> list[DatasetVersion]:
    rows = await session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset_id, DatasetVersion.deleted_at.is_(None))
        .order_by(DatasetVersion.created_at, DatasetVersion.id))
    return list(rows)


async def find_version(session: AsyncSession, dataset: Dataset, version: str
                       ) -> DatasetVersion:
    row = await session.scalar(select(DatasetVersion).where(
        DatasetVersion.dataset_id == dataset.id, DatasetVersion.deleted_at.is_(None),
        or_(DatasetVersion.version == version, DatasetVersion.id == version)))
    if row is None:
        raise DatasetNotFoundHttp(f"dataset {dataset.name!r} has no version {version!r}",
                                  detail={"dataset": dataset.name, "version": version})
    return row


async def tenant_allowance(session: AsyncSession, tenant_id: str, settings: Settings) -> int:
    """Bytes the tenant may still upload: its quota minus what its live versions hold."""
    tenant = await session.get(Tenant, tenant_id)
    limits = (tenant.limits if tenant else None) or {}
    quota = int(limits.get("dataset_quota_bytes", settings.dataset_quota_bytes))
    used = await session.scalar(
        select(func.coalesce(func.sum(DatasetVersion.size_bytes), 0))
        .where(DatasetVersion.tenant_id == tenant_id, DatasetVersion.deleted_at.is_(None)))
    return max(0, quota - int(used or 0))


async def prepare_upload(session: AsyncSession, principal: Principal, ref: str,
                         fields: VersionFields, settings: Settings) -> tuple[Dataset, int]:
    """Checks before any byte is read: the dataset is the caller's, the version is new, and
    there is room. Returns the dataset and the bytes the upload may take."""
    dataset = await find_dataset(session, principal, ref, owned=True)
    existing = await session.scalar(select(DatasetVersion.id).where(
        DatasetVersion.dataset_id == dataset.id, DatasetVersion.version == fields.version))
    if existing is not None:
        raise _exists(dataset, fields.version)
    allowance = await tenant_allowance(session, principal.tenant_id, settings)
    if allowance <= 0:
        raise StorageFull("this tenant's dataset storage is used up",
                          detail={"allowance_bytes": 0})
    return dataset, allowance


def check_job_id(version_id: str) -> str:
    """A fresh arq job id for one check of `version_id` (arq runs each id once)."""
    return f"check:{version_id}:{uuid.uuid4().hex[:8]}"


def _exists(dataset: Dataset, version: str) -> DatasetVersionExists:
    return DatasetVersionExists(f"{dataset.name}@{version} already exists",
                                detail={"dataset": dataset.name, "version": version})


async def receive_version(
    db: Database, principal: Principal, ref: str, fields: VersionFields,
    chunks: AsyncIterator[bytes], settings: Settings,
) -> DatasetVersion:
    """Stream an upload into storage and record its version as `processing`.

    Raises `DatasetNotFoundHttp`, `DatasetVersionExists` (also when a concurrent upload
    of the same version won), or `StorageFull`. The caller enqueues the check as
    `row.queue_job_id` after this returns; if that is lost, the dataset worker's
    reconcile pass sends it again.
    """
    async with db.session() as session:
        dataset, allowance = await prepare_upload(session, principal, ref, fields, settings)
    upload = await storage.receive(chunks, settings, allowance)
    version_id = new_id("dsv")
    published = False
    try:
        async with db.session() as session:
            # The allowance is read again: a concurrent upload may have used it meanwhile.
            if upload.size_bytes > await tenant_allowance(session, principal.tenant_id,
                                                          settings):
                raise StorageFull("this upload passes the tenant's dataset storage",
                                  detail={"size_bytes": upload.size_bytes})
            row = DatasetVersion(
                id=version_id, dataset_id=dataset.id, tenant_id=principal.tenant_id,
                version=fields.version, status=VersionStatus.processing.value,
                file_format=fields.file_format, size_bytes=upload.size_bytes,
                sha256=upload.sha256, split=fields.split, id_column=fields.id_column,
                hidden_columns=fields.hidden_columns,
                storage_path=str(storage.version_dir(settings, principal.tenant_id,
                                                     version_id)),
                queue_job_id=check_job_id(version_id), created_by=principal.key_id,
                created_at=utcnow())
            try:
                async with session.begin_nested():
                    session.add(row)
            except IntegrityError as exc:
                raise _exists(dataset, fields.version) from exc
            storage.publish(upload, settings, principal.tenant_id, version_id,
                            f"upload.{fields.file_format}")
            published = True
            activity.record(session, tenant_id=principal.tenant_id,
                            event_type="dataset.version_uploaded", entity_type="dataset",
                            entity_id=dataset.id, actor=principal.key_id,
                            data={"name": dataset.name, "version": fields.version,
                                  "size_bytes": upload.size_bytes})
    except BaseException:
        upload.discard()
        if published:
            storage.remove_version(settings, principal.tenant_id, version_id)
        raise
    return row


async def finish_version(session: AsyncSession, version_id: str, target: VersionStatus,
                         values: dict[str, Any]) -> bool:
    """processing -> ready | failed, as a compare-and-swap; False if it was not processing.

    A version is immutable once it leaves `processing`: a duplicate check job (a
    re-delivered arq job) that finishes second changes nothing.
    """
    if target == VersionStatus.processing:
        raise ValueError("a version never returns to processing")
    result = await session.execute(
        update(DatasetVersion)
        .where(DatasetVersion.id == version_id,
               DatasetVersion.status == VersionStatus.processing.value)
        .values(status=target.value, finished_at=utcnow(), **values))
    return bool(getattr(result, "rowcount", 0))


# A page cursor is "<name>~<dataset id>" (neither holds "~"): every string of this shape is
# a position in the (name, id) order, so none can fail later.
CURSOR_PATTERN = r"^[A-Za-z0-9_.-]{1,128}~[A-Za-z0-9_.-]{1,128}$"


def encode_cursor(name: str, dataset_id: str) -> str:
    return f"{name}~{dataset_id}"


def _decode_cursor(cursor: str) -> tuple[str, str]:
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InvalidConfig("invalid cursor", detail={"errors": [
            {"field": "cursor", "message": "not a cursor returned by this API"}]})
    name, dataset_id = cursor.split("~", 1)
    return name, dataset_id


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(principal: Principal, modality: str | None, q: str | None,
              owner: str | None) -> Select[Any]:
    query = select(Dataset).where(Dataset.deleted_at.is_(None), _visible(principal))
    if modality:
        query = query.where(Dataset.modality == modality)
    if owner:
        query = query.where(Dataset.tenant_id == owner)
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        query = query.where(or_(*(func.lower(column).like(pattern, escape="\\")
                                  for column in (Dataset.name, Dataset.description))))
    return query


async def list_datasets(
    session: AsyncSession, principal: Principal, *, modality: str | None, q: str | None,
    owner: str | None, limit: int, cursor: str | None,
) -> tuple[list[Dataset], int, str | None]:
    """(page, total matching, next cursor): by name then id, keyset-paginated."""
    query = _filtered(principal, modality, q, owner)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    if cursor:
        name, last_id = _decode_cursor(cursor)
        query = query.where(or_(Dataset.name > name,
                                and_(Dataset.name == name, Dataset.id > last_id)))
    rows = list(await session.scalars(query.order_by(Dataset.name, Dataset.id)
                                      .limit(limit + 1)))
    page = rows[:limit]
    more = len(rows) > limit
    return page, total, encode_cursor(page[-1].name, page[-1].id) if more and page else None


async def _used_by_evaluations(session: AsyncSession, version_id: str) -> bool:
    """Whether an evaluation or a benchmark version (whose future runs need it) names it."""
    # dataset_versions is JSON: match in Python over the rows that name any.
    rows = await session.scalars(select(Evaluation.dataset_versions)
                                 .where(Evaluation.dataset_versions.is_not(None)))
    if any(version_id in (ids or []) for ids in rows):
        return True
    benchmarks = await session.scalars(select(Benchmark.dataset_versions))
    return any(version_id in (ids or []) for ids in benchmarks)


async def delete_version(session: AsyncSession, principal: Principal, dataset: Dataset,
                         version: DatasetVersion, settings: Settings) -> bool:
    """Soft delete: hidden from listings and submits at once. The files are removed only if
    no evaluation ever used the version (their results must stay reproducible).
    Returns whether the files were removed."""
    if dataset.tenant_id != principal.tenant_id:
        raise DatasetNotFoundHttp(f"dataset {dataset.name!r} not found",
                                  detail={"dataset": dataset.name})
    version.deleted_at = utcnow()
    keep = await _used_by_evaluations(session, version.id)
    activity.record(session, tenant_id=principal.tenant_id, event_type="dataset.version_deleted",
                    entity_type="dataset", entity_id=dataset.id, actor=principal.key_id,
                    data={"name": dataset.name, "version": version.version,
                          "files_kept": keep})
    await session.flush()
    if not keep and version.status != VersionStatus.processing:
        storage.remove_version(settings, version.tenant_id, version.id)
        return True
    return False


async def delete_dataset(session: AsyncSession, principal: Principal, dataset: Dataset,
                         settings: Settings) -> None:
    for version in await versions_of(session, dataset.id):
        await delete_version(session, principal, dataset, version, settings)
    dataset.deleted_at = utcnow()
    # Frees the name for a new dataset; the old rows keep their id.
    dataset.name = f"{dataset.name}~deleted~{dataset.id[-8:]}"[:128]


@dataclass(frozen=True)
class ResolvedVersion:
    """A ready version named at submit: what the orchestrator mounts and verifies."""

    name: str
    version: DatasetVersion


async def resolve_refs(session: AsyncSession, principal: Principal, refs: Sequence[str]
                       ) -> list[ResolvedVersion]:
    """`name@version` references to ready versions the caller may use, in order.

    Raises `DatasetNotFound` (400) naming every reference that is malformed, unknown,
    deleted, another tenant's private data, or not ready.
    """
    resolved: list[ResolvedVersion] = []
    missing: list[str] = []
    for ref in refs:
        match = REF.match(ref)
        if match is None:
            missing.append(ref)
            continue
        try:
            dataset = await find_dataset(session, principal, match["name"])
            version = await find_version(session, dataset, match["version"])
        except DatasetNotFoundHttp:
            missing.append(ref)
            continue
        if version.status != VersionStatus.ready:
            missing.append(ref)
            continue
        resolved.append(ResolvedVersion(dataset.name, version))
    if missing:
        raise DatasetNotFound(
            f"dataset versions not found or not ready: {', '.join(missing)}",
            detail={"datasets": missing})
    names = [r.name for r in resolved]
    if len(set(names)) != len(names):
        raise InvalidConfig("each dataset may be named once", detail={"errors": [
            {"field": "datasets", "message": "two versions of one dataset"}]})
    return resolved


CHARS_PER_TOKEN = 4  # a rough English average: the API never loads a tokenizer


def compatibility(dataset: Dataset, versions: Sequence[DatasetVersion], modality: str,
                  context_length: int | None) -> dict[str, Any]:
    """{compatible, warnings, errors} of a dataset for a model: modality, and its ready
    versions' longest example (in estimated tokens) against the model's context."""
    warnings: list[str] = []
    errors: list[str] = []
    if dataset.modality != modality:
        errors.append(f"the dataset is {dataset.modality}; the model takes {modality}")
    ready = [v for v in versions if v.status == VersionStatus.ready]
    if not ready:
        warnings.append("no ready version")
    for version in ready:
        longest = int((version.statistics or {}).get("longest_text_chars") or 0)
        tokens = longest // CHARS_PER_TOKEN
        if context_length and tokens > context_length:
            warnings.append(f"version {version.version}: its longest example (~{tokens} "
                            f"tokens) is over the model's context of {context_length}")
    return {"compatible": not errors, "warnings": warnings, "errors": errors}
