"""Admin routes: per-tenant validation policy and limits, callback secrets, key revocation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.bounded import JSON_INTEGER, JSON_NUMBER, JsonInt
from api.deps import AdminDep, UnitOfWorkDep
from api.errors import responses
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.keys import MAX_SECRET_GRACE_S, bump_auth_epoch, revoke_key, rotate_callback_secret
from evalpod.orm import Tenant
from validator.policy.config import Policy

router = APIRouter(prefix="/admin", tags=["admin"], route_class=TextCheckedRoute)
ADMIN_ERRORS = (errors.Unauthorized, errors.Forbidden, errors.NotFound, errors.InvalidConfig)


class TenantLimits(BaseModel):
    """Overrides of the server's limits for one tenant; an absent or null field keeps the
    server's. JSON numbers only: `false` or `"5"` are refused, not coerced."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: Annotated[int, Field(ge=1, le=100_000), JSON_INTEGER] | None = None
    burst_per_second: Annotated[int, Field(ge=1, le=10_000), JSON_INTEGER] | None = None
    max_live_evaluations: Annotated[int, Field(ge=1, le=100_000), JSON_INTEGER] | None = None
    gpu_seconds_per_day: Annotated[int, Field(ge=0, le=2**31 - 1), JSON_INTEGER] | None = None
    # At least 0.001: a share near 0 would push the tenant's jobs out of the queue's range.
    fair_share: Annotated[float, Field(ge=0.001, le=1000, allow_inf_nan=False), JSON_NUMBER
                          ] | None = Field(
        default=None,
        description="Weight of this tenant in the fair-share queue (default 1): a tenant "
        "with 2 gets two jobs started for every one of a tenant with 1 while both wait.")


class TenantSettingsOut(BaseModel):
    tenant_id: str
    name: str
    policy: dict[str, Any] | None
    limits: dict[str, Any] | None


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_s: JsonInt = Field(
        default=86_400, ge=0, le=MAX_SECRET_GRACE_S,
        description="Seconds the old secret keeps signing (X-Evalpod-Signature-Previous); "
        "0 drops it at once.")


class CallbackSecretOut(BaseModel):
    tenant_id: str
    callback_secret: str = Field(description="Shown once; nothing shows it again.")
    previous_valid_until: datetime | None


async def _tenant(session: Any, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise errors.NotFound(f"tenant {tenant_id} not found")
    assert isinstance(tenant, Tenant)
    return tenant


def _out(tenant: Tenant) -> TenantSettingsOut:
    return TenantSettingsOut(tenant_id=tenant.id, name=tenant.name, policy=tenant.policy,
                             limits=tenant.limits)


@router.put("/tenants/{tenant_id}/policy", response_model=TenantSettingsOut,
            responses=responses(*ADMIN_ERRORS), summary="Set a tenant's validation policy")
async def set_policy(tenant_id: str, body: Policy, _admin: AdminDep,
                     uow: UnitOfWorkDep) -> TenantSettingsOut:
    async with uow.begin() as session:
        tenant = await _tenant(session, tenant_id)
        tenant.policy = body.model_dump(mode="json")
        return _out(tenant)


@router.put("/tenants/{tenant_id}/limits", response_model=TenantSettingsOut,
            responses=responses(*ADMIN_ERRORS), summary="Set a tenant's rate limits and quotas")
async def set_limits(tenant_id: str, body: TenantLimits, _admin: AdminDep,
                     uow: UnitOfWorkDep) -> TenantSettingsOut:
    async with uow.begin() as session:
        tenant = await _tenant(session, tenant_id)
        tenant.limits = body.model_dump(exclude_none=True)
        uow.after_commit(lambda: bump_auth_epoch(uow.redis))
        return _out(tenant)


@router.post("/keys/{key_id}/revoke", responses=responses(*ADMIN_ERRORS),
             summary="Revoke an API key")
async def revoke(key_id: str, _admin: AdminDep, uow: UnitOfWorkDep) -> dict[str, str]:
    async with uow.begin() as session:
        if not await revoke_key(session, key_id):
            raise errors.NotFound(f"no live key {key_id}")
        uow.after_commit(lambda: bump_auth_epoch(uow.redis))
    return {"key_id": key_id, "status": "revoked"}


@router.post("/tenants/{tenant_id}/callback-secret", response_model=CallbackSecretOut,
             responses=responses(*ADMIN_ERRORS),
             summary="Rotate a tenant's callback signing secret (shown once)")
async def rotate_secret(tenant_id: str, _admin: AdminDep, uow: UnitOfWorkDep,
                        body: SecretRotation | None = None) -> CallbackSecretOut:
    grace = timedelta(seconds=(body or SecretRotation()).grace_s)
    async with uow.begin() as session:
        tenant = await _tenant(session, tenant_id)
        secret = rotate_callback_secret(tenant, grace)
        return CallbackSecretOut(tenant_id=tenant.id, callback_secret=secret,
                                 previous_valid_until=tenant.previous_secret_expires_at)
