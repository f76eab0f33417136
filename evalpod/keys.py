"""API keys (creation, hashing, constant-time lookup, revocation) and callback secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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


MAX_SECRET_GRACE_S = 30 * 86_400


def new_callback_secret() -> str:
    return "whsec_" + secrets.token_hex(32)


async def ensure_tenant(session: AsyncSession, name: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        tenant = Tenant(id=new_id("tn"), name=name, callback_secret=new_callback_secret())
        session.add(tenant)
        await session.flush()
    return tenant


@dataclass(frozen=True)
class CreatedKey:
    """A new key and, when its tenant was created with it, the tenant's callback secret.

    Both plaintexts are shown once: the key is stored only as a hash, and nothing shows
    the callback secret again (rotate it to get a new one).
    """

    key: ApiKey
    plaintext: str
    tenant: Tenant
    new_tenant_secret: str | None


async def create_key_for_tenant(session: AsyncSession, tenant_name: str, role: Role
                                ) -> CreatedKey:
    """`create_key`, also telling whether the tenant is new (then with its callback secret)."""
    existed = await session.scalar(select(Tenant.id).where(Tenant.name == tenant_name))
    key, plaintext = await create_key(session, tenant_name, role)
    tenant = await session.get(Tenant, key.tenant_id)
    assert tenant is not None
    return CreatedKey(key, plaintext, tenant,
                      None if existed is not None else tenant.callback_secret)


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


async def list_keys(session: AsyncSession, tenant_id: str | None = None
                    ) -> list[tuple[ApiKey, str]]:
    """Keys (with their tenant's name), oldest first; one tenant's, or all with None."""
    query = (select(ApiKey, Tenant.name).join(Tenant, Tenant.id == ApiKey.tenant_id)
             .order_by(ApiKey.created_at, ApiKey.id))
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    return [(key, name) for key, name in (await session.execute(query)).all()]


def rotate_callback_secret(tenant: Tenant, grace: timedelta, now: datetime | None = None
                           ) -> str:
    """Give `tenant` a new signing secret; the current one keeps signing for `grace`.

    A second rotation inside the grace period drops the oldest secret: at most two sign.
    Returns the new secret (shown once).
    """
    now = now or utcnow()
    if grace > timedelta(0):
        tenant.previous_callback_secret = tenant.callback_secret
        tenant.previous_secret_expires_at = now + grace
    else:
        tenant.previous_callback_secret = None
        tenant.previous_secret_expires_at = None
    tenant.callback_secret = new_callback_secret()
    tenant.callback_secret_rotated_at = now
    return tenant.callback_secret


def signing_secrets(tenant: Tenant, now: datetime | None = None) -> tuple[str, str | None]:
    """The secret that signs deliveries, and the previous one while its grace period lasts."""
    now = now or utcnow()
    expires = tenant.previous_secret_expires_at
    if tenant.previous_callback_secret and expires is not None and expires > now:
        return tenant.callback_secret, tenant.previous_callback_secret
    return tenant.callback_secret, None


async def read_auth_epoch(redis: Redis) -> str:
    value = await redis.get(AUTH_EPOCH_KEY)
    if value is None:
        return "0"
    return value.decode() if isinstance(value, bytes) else str(value)


async def bump_auth_epoch(redis: Redis) -> None:
    """Tell every API replica that some key or tenant limit changed; call after commit."""
    await redis.incr(AUTH_EPOCH_KEY)
