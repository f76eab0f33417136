"""Terminal-status callbacks: URL safety checks, HMAC signatures, delivery with retries.

Deliveries run in a worker (never the request path), each attempt is recorded,
and the URL is re-checked at delivery time because DNS can change after submit.
Each delivery resolves the host once, checks every address, and connects only to
those addresses (`PinnedResolver`), with the URL's host in the Host header and as the
TLS server name (SNI and certificate check): a DNS answer that changes between the
check and the connection (rebinding) cannot redirect the request.
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
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


Resolve = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver. Raises OSError."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class CheckedTarget:
    """A callback URL's host and port, and the addresses it was checked at."""

    host: str
    port: int
    addresses: tuple[str, ...]


def _checked_parts(url: str, allow_private: bool) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _bad_url("must be an absolute https URL")
    if parts.scheme == "http" and not allow_private:
        raise _bad_url("plain http is not allowed")
    if parts.username or parts.password:
        raise _bad_url("credentials in the URL are not allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise _bad_url("the port is not a number from 1 to 65535") from exc
    if not allow_private and parts.hostname.lower() in METADATA_HOSTS:
        raise _bad_url("metadata hosts are not allowed")
    return parts.hostname, port


async def resolve_checked(url: str, *, allow_private: bool,
                          resolve: Resolve = system_resolve) -> CheckedTarget:
    """Resolve the URL's host once and check every address it has (unless private ones
    are allowed). Raises `InvalidConfig` for a refused URL or an unresolvable host."""
    host, port = _checked_parts(url, allow_private)
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise _bad_url(f"host does not resolve ({exc.strerror or exc})") from exc
    if not addresses:
        raise _bad_url("host has no addresses")
    if not allow_private:
        for address in addresses:
            if not _is_public(address):
                raise _bad_url(f"{host} resolves to a non-public address {address}")
    return CheckedTarget(host, port, tuple(addresses))


async def check_callback_url(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are not http(s) or resolve to loopback/private/link-local/metadata
    (at submit; delivery checks again). Raises `InvalidConfig`."""
    if allow_private:
        _checked_parts(url, allow_private)
        return
    await resolve_checked(url, allow_private=False)


class PinnedResolver(AbstractResolver):
    """aiohttp's resolver for one delivery: the checked host answers only its checked
    addresses, and any other name (a redirect is not followed anyway) is refused.
    aiohttp keeps `hostname` as the TLS server name and the URL's host as Host."""

    def __init__(self, target: CheckedTarget) -> None:
        self._target = target

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host.rstrip(".").lower() != self._target.host.rstrip(".").lower():
            raise OSError(f"{host} was not checked for this delivery")
        return [ResolveResult(
            hostname=host, host=address, port=port,
            family=socket.AF_INET6 if ":" in address else socket.AF_INET,
            proto=0, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV)
            for address in self._target.addresses]

    async def close(self) -> None:
        return None


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


async def post_pinned(url: str, target: CheckedTarget, body: bytes, secret: str,
                      previous: str | None = None, *, timeout_s: float = DELIVERY_TIMEOUT_S,
                      ssl: Any = True) -> int:
    """POST the signed body to `url`, connecting only to `target.addresses`; the status
    code. `previous` adds a signature with the secret being rotated out. `ssl` is
    aiohttp's (True: the system trust store). Raises `aiohttp.ClientError`,
    `TimeoutError` or `OSError` when no answer comes."""
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(timestamp),
               SIGNATURE_HEADER: sign(secret, timestamp, body), "User-Agent": "evalpod-callback"}
    if previous is not None:
        headers[PREVIOUS_SIGNATURE_HEADER] = sign(previous, timestamp, body)
    connector = aiohttp.TCPConnector(resolver=PinnedResolver(target), use_dns_cache=False,
                                     ssl=ssl, force_close=True)
    session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                    timeout=aiohttp.ClientTimeout(total=timeout_s))
    async with session, session.post(url, data=body, headers=headers,
                                     allow_redirects=False) as answer:
        return answer.status


async def deliver(url: str, body: bytes, secret: str, previous: str | None = None, *,
                  allow_private: bool, resolve: Resolve = system_resolve,
                  timeout_s: float = DELIVERY_TIMEOUT_S, ssl: Any = True
                  ) -> tuple[int | None, str | None]:
    """One delivery attempt: (HTTP status or None, error or None). Never raises for a
    refused URL, a failed connection or no answer within `timeout_s`, the host lookup
    included; those are the error."""
    try:
        # One bound for the lookup and the POST: an attempt still running at arq's job
        # timeout is cancelled, and then neither recorded nor retried.
        async with asyncio.timeout(timeout_s):
            target = await resolve_checked(url, allow_private=allow_private, resolve=resolve)
            code = await post_pinned(url, target, body, secret, previous,
                                     timeout_s=timeout_s, ssl=ssl)
    except TimeoutError:
        return None, f"no answer within {timeout_s:g} s"
    except (InvalidConfig, aiohttp.ClientError, OSError) as exc:
        return None, (str(exc)[:500] or type(exc).__name__)
    return code, None if 200 <= code < 300 else f"HTTP {code}"


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
    code, error = await deliver(url, body, secret, previous,
                                allow_private=state.settings.callback_allow_private)
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
