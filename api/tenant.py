"""Tenant self-service: who am I (`GET /tenant`, limits and usage) and the keys I hold."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.deps import PrincipalDep, UnitOfWorkDep
from api.errors import responses
from api.limits import effective_limits, gpu_seconds_used_today, requests_this_minute
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.keys import list_keys
from evalpod.lifecycle import LIVE
from evalpod.orm import Evaluation, Tenant

router = APIRouter(tags=["tenant"], route_class=TextCheckedRoute)


class QuotaUsage(BaseModel):
    limit: int
    used: int
    remaining: int = Field(description="limit - used, at least 0.")


class CallbackSigning(BaseModel):
    """Where the callback signing secret stands; the secret itself is never shown again."""

    rotated_at: datetime | None = Field(description="Last rotation; null if never rotated.")
    previous_valid_until: datetime | None = Field(
        description="Until then deliveries also carry X-Evalpod-Signature-Previous.")


class TenantOut(BaseModel):
    tenant_id: str
    name: str
    created_at: datetime
    key_id: str = Field(description="The key this request was made with.")
    role: str
    limits: dict[str, int] = Field(description="Effective limits: tenant overrides, else the "
                                   "server's defaults.")
    usage: dict[str, QuotaUsage] = Field(
        description="requests_per_minute (this key), max_live_evaluations, gpu_seconds_per_day.")
    callback_signing: CallbackSigning


class ApiKeyOut(BaseModel):
    key_id: str
    tenant_id: str
    tenant_name: str
    role: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


def _usage(limit: int, used: int) -> QuotaUsage:
    return QuotaUsage(limit=limit, used=used, remaining=max(0, limit - used))


@router.get("/tenant", response_model=TenantOut,
            responses=responses(errors.Unauthorized, errors.RateLimited),
            summary="Your tenant: id, name, effective limits, usage against quotas")
async def get_tenant(request: Request, principal: PrincipalDep, uow: UnitOfWorkDep
                     ) -> TenantOut:
    async with uow.begin() as session:
        tenant = await session.get(Tenant, principal.tenant_id)
        if tenant is None:  # deleted after the key was cached
            raise errors.Unauthorized("this key's tenant no longer exists")
        live = int(await session.scalar(
            select(func.count()).select_from(Evaluation)
            .where(Evaluation.tenant_id == tenant.id,
                   Evaluation.status.in_([s.value for s in LIVE]))) or 0)
        limits = effective_limits(principal, request.app.state.settings)
        usage = {
            "requests_per_minute": _usage(limits["requests_per_minute"],
                                          await requests_this_minute(uow.redis, principal)),
            "max_live_evaluations": _usage(limits["max_live_evaluations"], live),
            "gpu_seconds_per_day": _usage(limits["gpu_seconds_per_day"],
                                          await gpu_seconds_used_today(uow.redis, principal)),
        }
        return TenantOut(
            tenant_id=tenant.id, name=tenant.name, created_at=tenant.created_at,
            key_id=principal.key_id, role=principal.role.value, limits=limits, usage=usage,
            callback_signing=CallbackSigning(
                rotated_at=tenant.callback_secret_rotated_at,
                previous_valid_until=tenant.previous_secret_expires_at))


@router.get("/keys", response_model=ApiKeyList,
            responses=responses(errors.Unauthorized, errors.Forbidden, errors.RateLimited),
            summary="API keys of your tenant (admins: of every tenant); never their secrets")
async def get_keys(
    principal: PrincipalDep, uow: UnitOfWorkDep,
    all_tenants: Annotated[bool, Query(description="Every tenant's keys (admin only).")] = False,
) -> ApiKeyList:
    if all_tenants and not principal.is_admin:
        raise errors.Forbidden("listing every tenant's keys needs the admin role")
    async with uow.begin() as session:
        rows = await list_keys(session, None if all_tenants else principal.tenant_id)
    return ApiKeyList(items=[
        ApiKeyOut(key_id=key.id, tenant_id=key.tenant_id, tenant_name=name, role=key.role,
                  prefix=key.prefix, created_at=key.created_at, revoked_at=key.revoked_at)
        for key, name in rows])
