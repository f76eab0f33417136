"""API keys: creation, hashing, constant-time lookup, revocation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evalpod.orm import ApiKey, Tenant, new_id, utcnow

KEY_PREFIX = "ep_"
# Bumped after every revocation or tenant-limit change; API replicas drop cached keys on it.
AUTH_EPOCH_KEY = "evalpod:auth:epoch"


class Role(StrEnum):
    submitter = "submitter"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved once per request from the bearer key."""

    tenant_id: str
    key_id: str
    role: Role
    limits: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


def hash_key(plaintext: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


async def ensure_tenant(session: AsyncSession, name: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        tenant = Tenant(id=new_id("tn"), name=name, callback_secret=secrets.token_hex(32))
        session.add(tenant)
        await session.flush()
    return tenant


async def create_key(session: AsyncSession, tenant_name: str, role: Role) -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned once and never stored."""
    tenant = await ensure_tenant(session, tenant_name)
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"),
        tenant_id=tenant.id,
        key_hash=hash_key(plaintext),
        prefix=plaintext[:10],
        role=role.value,
    )
    session.add(key)
    await session.flush()
    return key, plaintext


async def authenticate_digest(session: AsyncSession, digest: str) -> Principal | None:
    """The live key whose hash is `digest`, as a principal; None if unknown or revoked."""
    row = (await session.execute(
        select(ApiKey, Tenant.limits).join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.key_hash == digest)
    )).first()
    if row is None:
        return None
    key, limits = row
    if key.revoked_at is not None or not hmac.compare_digest(key.key_hash, digest):
        return None
    return Principal(tenant_id=key.tenant_id, key_id=key.id, role=Role(key.role),
                     limits=dict(limits or {}))


async def revoke_key(session: AsyncSession, key_id: str) -> bool:
    key = await session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    return True


async def read_auth_epoch(redis: Redis) -> str:
    value = await redis.get(AUTH_EPOCH_KEY)
    if value is None:
        return "0"
    return value.decode() if isinstance(value, bytes) else str(value)


async def bump_auth_epoch(redis: Redis) -> None:
    """Tell every API replica that some key or tenant limit changed; call after commit."""
    await redis.incr(AUTH_EPOCH_KEY)
