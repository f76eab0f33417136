"""Routes under /api/v1/datasets: the registry, streamed version uploads, soft delete."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError
from sqlalchemy import func, select

from api.deps import PrincipalDep, UnitOfWorkDep
from api.errors import responses
from api.schemas import NO_NUL
from api.text import SendableJson, SendableJsonObjects, TextCheckedRoute
from evalpod import errors, promotion
from evalpod.datasets import checking, service
from evalpod.datasets.errors import (
    DatasetExists,
    DatasetNotFoundHttp,
    DatasetVersionExists,
    StorageFull,
)
from evalpod.datasets.service import DatasetFields, VersionFields, Visibility
from evalpod.orm import Dataset, DatasetVersion
from evalpod.registry_errors import ModelNotFoundHttp
from evalpod.settings import Settings

router = APIRouter(prefix="/datasets", tags=["datasets"], route_class=TextCheckedRoute)
AUTH_ERRORS = (errors.Unauthorized, errors.RateLimited)
Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
ColumnName = Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str = Field(default="", max_length=4000, pattern=NO_NUL)
    modality: str = Field(default="text", min_length=1, max_length=32,
                          pattern=r"^[a-z0-9_-]+$", description="text, image, audio, …")
    task_type: str | None = Field(default=None, max_length=64, pattern=NO_NUL,
                                  description="e.g. question-answering, classification")
    tags: list[Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]] = Field(
        default_factory=list, max_length=20)
    visibility: Visibility = Field(default=Visibility.tenant,
                                   description="`public` (every tenant) needs the admin role.")


class Finding(BaseModel):
    code: str
    severity: str
    message: str
    line: int | None = None


class VersionOut(BaseModel):
    id: str
    version: str
    status: str = Field(description="processing, then ready or failed.")
    format: str
    size_bytes: int
    sha256: str = Field(description="Of the uploaded file.")
    data_sha256: str | None = Field(description="Of the Arrow files mounted at /data.")
    split: str
    splits: dict[str, int] | None
    row_count: int | None
    id_column: str
    hidden_columns: list[str]
    columns: SendableJsonObjects | None  # what the check job read from the file
    statistics: SendableJson | None
    findings: list[Finding]
    check_log: list[str] = Field(default_factory=list,
                                 description="The check job's last log lines when it failed.")
    created_at: datetime
    finished_at: datetime | None


class Compatibility(BaseModel):
    compatible: bool
    warnings: list[str]
    errors: list[str]


class DatasetOut(BaseModel):
    id: str
    name: str
    description: str
    modality: str
    task_type: str | None
    tags: list[str]
    visibility: str
    owner: str = Field(description="The owning tenant's id.")
    created_at: datetime
    versions: list[VersionOut]
    compatibility: Compatibility | None = Field(
        default=None, description="With ?compatible_with_model=: modality and context "
        "length (longest example, estimated in tokens) against that model.")


class DatasetPage(BaseModel):
    items: list[DatasetOut]
    total: int = Field(description="Datasets matching the filters, over all pages.")
    next_cursor: str | None


def version_out(row: DatasetVersion) -> VersionOut:
    report = row.report or {}
    return VersionOut(
        id=row.id, version=row.version, status=row.status, format=row.file_format,
        size_bytes=row.size_bytes, sha256=row.sha256, data_sha256=row.data_sha256,
        split=row.split, splits=row.splits, row_count=row.row_count, id_column=row.id_column,
        hidden_columns=list(row.hidden_columns or []), columns=row.columns,
        statistics=row.statistics,
        findings=[Finding.model_validate(f) for f in report.get("findings", [])],
        check_log=[str(line) for line in report.get("log", [])],
        created_at=row.created_at, finished_at=row.finished_at)


def dataset_out(row: Dataset, versions: list[DatasetVersion]) -> DatasetOut:
    return DatasetOut(id=row.id, name=row.name, description=row.description,
                      modality=row.modality, task_type=row.task_type, tags=list(row.tags or []),
                      visibility=row.visibility, owner=row.tenant_id, created_at=row.created_at,
                      versions=[version_out(v) for v in versions])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DatasetOut,
             responses=responses(*AUTH_ERRORS, DatasetExists, errors.InvalidConfig),
             summary="Create a dataset (its data comes as versions)")
async def create_dataset(body: DatasetCreate, principal: PrincipalDep, uow: UnitOfWorkDep
                         ) -> DatasetOut:
    async with uow.begin() as session:
        dataset = await service.create_dataset(session, principal, DatasetFields(
            name=body.name, description=body.description, modality=body.modality,
            task_type=body.task_type, tags=body.tags, visibility=body.visibility))
        return dataset_out(dataset, [])


@router.get("", response_model=DatasetPage,
            responses=responses(*AUTH_ERRORS, errors.InvalidConfig, ModelNotFoundHttp),
            summary="Datasets you can use: your tenant's and the public ones")
async def list_datasets(
    principal: PrincipalDep, uow: UnitOfWorkDep,
    modality: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Substring of name or "
                                   "description")] = None,
    owner: Annotated[str | None, Query(max_length=64, description="Owning tenant id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(
        pattern=service.CURSOR_PATTERN,
        description="`next_cursor` of the previous page (opaque: pass it back unchanged).")
    ] = None,
    compatible_with_model: Annotated[str | None, Query(
        max_length=128, description="Add {compatible, warnings, errors} for this model")] = None,
) -> DatasetPage:
    async with uow.begin() as session:
        model = None
        if compatible_with_model:
            model = await promotion.get_model(session, compatible_with_model)
        page, total, next_cursor = await service.list_datasets(
            session, principal, modality=modality, q=q, owner=owner, limit=limit, cursor=cursor)
        items = []
        for dataset in page:
            versions = await service.versions_of(session, dataset.id)
            item = dataset_out(dataset, versions)
            if model is not None:
                item.compatibility = Compatibility.model_validate(service.compatibility(
                    dataset, versions, "text", model.context_length))
            items.append(item)
    return DatasetPage(items=items, total=total, next_cursor=next_cursor)


@router.get("/{dataset}", response_model=DatasetOut,
            responses=responses(*AUTH_ERRORS, DatasetNotFoundHttp),
            summary="One dataset (by id or name) with its versions")
async def get_dataset(dataset: str, principal: PrincipalDep, uow: UnitOfWorkDep) -> DatasetOut:
    async with uow.begin() as session:
        row = await service.find_dataset(session, principal, dataset)
        return dataset_out(row, await service.versions_of(session, row.id))


@router.get("/{dataset}/versions", response_model=list[VersionOut],
            responses=responses(*AUTH_ERRORS, DatasetNotFoundHttp),
            summary="The versions of a dataset, oldest first")
async def list_versions(dataset: str, principal: PrincipalDep, uow: UnitOfWorkDep
                        ) -> list[VersionOut]:
    async with uow.begin() as session:
        row = await service.find_dataset(session, principal, dataset)
        return [version_out(v) for v in await service.versions_of(session, row.id)]


@router.get("/{dataset}/versions/{version}", response_model=VersionOut,
            responses=responses(*AUTH_ERRORS, DatasetNotFoundHttp),
            summary="One version: status, schema, statistics and the check's findings")
async def get_version(dataset: str, version: str, principal: PrincipalDep, uow: UnitOfWorkDep
                      ) -> VersionOut:
    async with uow.begin() as session:
        row = await service.find_dataset(session, principal, dataset)
        return version_out(await service.find_version(session, row, version))


async def _next_version(uow: UnitOfWorkDep, principal: PrincipalDep, dataset: str) -> str:
    async with uow.begin() as session:
        row = await service.find_dataset(session, principal, dataset, owned=True)
        count = await session.scalar(select(func.count()).select_from(DatasetVersion)
                                     .where(DatasetVersion.dataset_id == row.id))
    return str(int(count or 0) + 1)


@router.post(
    "/{dataset}/versions", status_code=status.HTTP_202_ACCEPTED, response_model=VersionOut,
    responses=responses(*AUTH_ERRORS, DatasetNotFoundHttp, DatasetVersionExists, StorageFull,
                        errors.InvalidConfig),
    summary="Upload a version: the request body is the file itself, streamed",
    description="Send the raw file (JSONL, CSV or Parquet) as the body. The version starts "
    "`processing`; a sandbox job checks it and it becomes `ready` or `failed` with findings. "
    "Hidden columns are split off and only the trusted scorer ever reads them.",
)
async def upload_version(
    dataset: str, request: Request, principal: PrincipalDep, uow: UnitOfWorkDep,
    format: Annotated[str, Query(pattern="^(jsonl|csv|parquet)$")],
    version: Annotated[str | None, Query(min_length=1, max_length=64,
                                         pattern=r"^[A-Za-z0-9_.-]+$")] = None,
    split: Annotated[str, Query(min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9_-]+$")] = "test",
    id_column: ColumnName = "id",
    hidden_column: Annotated[list[Annotated[str, Field(
        min_length=1, max_length=128, pattern=r"^[^\x00]+$")]] | None, Query(max_length=32)
    ] = None,
) -> VersionOut:
    hidden = list(dict.fromkeys(hidden_column or []))
    fields = VersionFields(version=version or await _next_version(uow, principal, dataset),
                           file_format=format, split=split, id_column=id_column,
                           hidden_columns=hidden)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            if chunk:
                yield chunk

    row = await service.receive_version(uow.db, principal, dataset, fields, body(),
                                        _settings(request))
    if row.queue_job_id:
        with contextlib.suppress(RedisError, OSError):  # the worker's reconcile re-sends it
            await checking.enqueue_check(uow.redis, row.id, row.queue_job_id)
    return version_out(row)


@router.delete("/{dataset}/versions/{version}", status_code=status.HTTP_204_NO_CONTENT,
               responses=responses(*AUTH_ERRORS, DatasetNotFoundHttp),
               summary="Soft-delete a version (its files stay while evaluations used it)")
async def delete_version(dataset: str, version: str, request: Request, principal: PrincipalDep,
                         uow: UnitOfWorkDep) -> None:
    async with uow.begin() as session:
        row = await service.find_dataset(session, principal, dataset, owned=True)
        found = await service.find_version(session, row, version)
        await service.delete_version(session, principal, row, found, _settings(request))


@router.delete("/{dataset}", status_code=status.HTTP_204_NO_CONTENT,
               responses=responses(*AUTH_ERRORS, DatasetNotFoundHttp),
               summary="Soft-delete a dataset and all its versions")
async def delete_dataset(dataset: str, request: Request, principal: PrincipalDep,
                         uow: UnitOfWorkDep) -> None:
    async with uow.begin() as session:
        row = await service.find_dataset(session, principal, dataset, owned=True)
        await service.delete_dataset(session, principal, row, _settings(request))
