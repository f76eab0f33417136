"""Browser sessions: `POST /session` trades an API key for an HttpOnly cookie, `DELETE` ends it.

The cookie holds a random session token, never the key. Redis keeps, under the token's
hash, the key's digest and a CSRF token; every request made with the cookie is
authenticated through the key's digest (so revoking the key ends its sessions), and a
state-changing one must also carry the CSRF token in `X-CSRF-Token` (`require_csrf`).
The page learns the CSRF token from the `POST` answer or from `GET /session`, which a
foreign origin cannot read (no CORS), and the cookie is SameSite=Strict besides.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from api.errors import responses
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.db import Database
from evalpod.keys import Principal, authenticate_digest, hash_key

router = APIRouter(prefix="/session", tags=["session"], route_class=TextCheckedRoute)

COOKIE = "evalpod_session"
CSRF_HEADER = "X-CSRF-Token"
TTL = timedelta(hours=12)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PREFIX = "evalpod:session:"


@dataclass(frozen=True)
class BrowserSession:
    """What Redis holds for one signed-in browser."""

    key_digest: str
    csrf_token: str
    expires_at: datetime


def _redis_key(token: str) -> str:
    # Only the token's hash is stored: a Redis dump does not yield usable cookies.
    return _PREFIX + hashlib.sha256(token.encode()).hexdigest()


async def read_session(redis: Redis, token: str) -> BrowserSession | None:
    """The session a cookie names, or None if it is unknown or expired."""
    raw = await redis.get(_redis_key(token))
    if raw is None:
        return None
    data = json.loads(raw)
    return BrowserSession(data["digest"], data["csrf"], datetime.fromisoformat(data["expires"]))


def require_csrf(request: Request, session: BrowserSession) -> None:
    """Refuse a state-changing request made with the cookie unless it carries the CSRF token.

    Raises `Forbidden` when the header is missing or wrong.
    """
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise errors.Forbidden(
            f"missing or wrong {CSRF_HEADER} header",
            hint=f"Send the csrf_token from GET /api/v1/session in {CSRF_HEADER}.")


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # not a browser, or a same-origin GET: nothing to forge
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


class SessionCreate(BaseModel):
    api_key: str = Field(min_length=1, max_length=512, description="An API key; not stored.")


class SessionOut(BaseModel):
    tenant_id: str
    key_id: str
    role: str
    csrf_token: str = Field(description=f"Send it in {CSRF_HEADER} on POST/PUT/PATCH/DELETE.")
    expires_at: datetime


async def _principal(db: Database, digest: str) -> Principal:
    async with db.session() as session:
        principal = await authenticate_digest(session, digest)
    if principal is None:
        raise errors.Unauthorized("invalid or revoked API key")
    return principal


def _out(principal: Principal, session: BrowserSession) -> SessionOut:
    return SessionOut(tenant_id=principal.tenant_id, key_id=principal.key_id,
                      role=principal.role.value, csrf_token=session.csrf_token,
                      expires_at=session.expires_at)


@router.post("", response_model=SessionOut,
             responses=responses(errors.Unauthorized, errors.Forbidden),
             summary="Sign in: exchange an API key for an HttpOnly session cookie")
async def create_session(body: SessionCreate, request: Request, response: Response
                         ) -> SessionOut:
    if not _same_origin(request):
        # A foreign page could otherwise sign a browser in to the attacker's tenant.
        raise errors.Forbidden("sign-in from another origin", hint="Sign in from the dashboard.")
    digest = hash_key(body.api_key.strip())
    principal = await _principal(request.app.state.db, digest)
    token = secrets.token_urlsafe(32)
    session = BrowserSession(digest, secrets.token_urlsafe(32),
                             datetime.now(UTC).replace(microsecond=0) + TTL)
    await request.app.state.redis.set(
        _redis_key(token),
        json.dumps({"digest": digest, "csrf": session.csrf_token,
                    "expires": session.expires_at.isoformat()}),
        ex=int(TTL.total_seconds()))
    response.set_cookie(COOKIE, token, max_age=int(TTL.total_seconds()), path="/",
                        httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    response.headers["Cache-Control"] = "no-store"
    return _out(principal, session)


@router.get("", response_model=SessionOut, responses=responses(errors.Unauthorized),
            summary="The signed-in browser's identity and CSRF token")
async def get_session(request: Request, response: Response) -> SessionOut:
    token = request.cookies.get(COOKIE)
    session = await read_session(request.app.state.redis, token) if token else None
    if session is None:
        raise errors.Unauthorized("not signed in", hint="POST /api/v1/session with an API key.")
    response.headers["Cache-Control"] = "no-store"
    return _out(await _principal(request.app.state.db, session.key_digest), session)


@router.delete("", status_code=204, responses=responses(errors.Forbidden),
               summary="Sign out: end the session and clear its cookie")
async def delete_session(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    redis: Redis = request.app.state.redis
    session = await read_session(redis, token) if token else None
    if session is not None and token is not None:
        require_csrf(request, session)  # else any page could sign the user out
        await redis.delete(_redis_key(token))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response
