"""Terminal-status callbacks: URL safety checks, HMAC signatures, delivery with retries.

Deliveries run in a worker (never the request path), each attempt is recorded,
and the URL is re-checked at delivery time because DNS can change after submit.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from arq import Retry

from evalpod.errors import InvalidConfig
from evalpod.keys import signing_secrets
from evalpod.orm import CallbackAttempt, Evaluation, Tenant
from evalpod.workers import WorkerState

log = logging.getLogger("evalpod.callbacks")
SIGNATURE_HEADER = "X-Evalpod-Signature"
# Sent only during a rotation's grace period: the same body signed with the previous secret.
PREVIOUS_SIGNATURE_HEADER = "X-Evalpod-Signature-Previous"
TIMESTAMP_HEADER = "X-Evalpod-Timestamp"
DELIVERY_TIMEOUT_S = 10.0
METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}


def _bad_url(reason: str) -> InvalidConfig:
    return InvalidConfig(f"callback_url refused: {reason}", detail={"errors": [
        {"field": "callback_url", "message": reason}]},
        hint="Use a public https URL; operators can allow private ones.")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


async def check_callback_url(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are not http(s) or resolve to loopback/private/link-local/metadata."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _bad_url("must be an absolute https URL")
    if parts.scheme == "http" and not allow_private:
        raise _bad_url("plain http is not allowed")
    if parts.username or parts.password:
        raise _bad_url("credentials in the URL are not allowed")
    if allow_private:
        return
    if parts.hostname.lower() in METADATA_HOSTS:
        raise _bad_url("metadata hosts are not allowed")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _bad_url(f"host does not resolve ({exc.strerror or exc})") from exc
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise _bad_url(f"{parts.hostname} resolves to a non-public address {info[4][0]}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>": receivers reject stale timestamps (replays)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def payload(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "evaluation_id": evaluation.id,
        "status": evaluation.status,
        "model_id": evaluation.model_id,
        "result": evaluation.result,
        "violation": evaluation.violation,
        "error": evaluation.error,
        "finished_at": evaluation.finished_at.isoformat() if evaluation.finished_at else None,
        "tags": evaluation.tags,
    }


def backoff_s(attempt: int) -> float:
    return float(min(300, 2 ** attempt))


async def _post(url: str, body: bytes, secret: str, previous: str | None = None) -> int:
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(timestamp),
               SIGNATURE_HEADER: sign(secret, timestamp, body), "User-Agent": "evalpod-callback"}
    if previous is not None:
        headers[PREVIOUS_SIGNATURE_HEADER] = sign(previous, timestamp, body)
    async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S, follow_redirects=False) as client:
        response = await client.post(url, content=body, headers=headers)
    return response.status_code


async def deliver_callback(ctx: dict[str, Any], evaluation_id: str) -> str:
    """arq job: one delivery attempt; raises Retry with backoff until max attempts."""
    state: WorkerState = ctx["state"]
    attempt = int(ctx.get("job_try", 1))
    async with state.db.session() as session:
        evaluation = await session.get(Evaluation, evaluation_id)
        tenant = await session.get(Tenant, evaluation.tenant_id) if evaluation else None
        if evaluation is None or tenant is None or not evaluation.callback_url:
            return "nothing to deliver"
        url = evaluation.callback_url
        secret, previous = signing_secrets(tenant)
        body = json.dumps(payload(evaluation), sort_keys=True).encode()
        status = evaluation.status
    code: int | None = None
    error: str | None = None
    try:
        await check_callback_url(url, allow_private=state.settings.callback_allow_private)
        code = await _post(url, body, secret, previous)
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except (InvalidConfig, httpx.HTTPError) as exc:
        error = str(exc)[:500] or type(exc).__name__
    async with state.db.session() as session:
        session.add(CallbackAttempt(evaluation_id=evaluation_id, status=status, attempt=attempt,
                                    response_code=code, error=error, delivered=error is None))
    if error is None:
        return "delivered"
    if attempt >= state.settings.callback_max_attempts:
        log.warning("callback of %s abandoned after %d attempts: %s", evaluation_id, attempt,
                    error)
        return "abandoned"
    raise Retry(defer=backoff_s(attempt))


def create_worker(settings: Any = None) -> Any:
    from evalpod import queue
    from evalpod.settings import get_settings
    from evalpod.workers import build_worker

    settings = settings or get_settings()
    return build_worker("callbacks", deliver_callback, queue.CALLBACK_QUEUE, 4,
                        job_timeout_s=int(DELIVERY_TIMEOUT_S) + 5, settings=settings,
                        reconcile=False, max_tries=settings.callback_max_attempts)
