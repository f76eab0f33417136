"""The outermost request layer: request ids, edge refusals, metrics and the access log.

A plain ASGI middleware rather than Starlette's BaseHTTPMiddleware, which runs every
request's app in an extra task and copies the response through a memory stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.errors import error_response
from api.text import LONE_SURROGATE_MESSAGE, has_lone_surrogate
from evalpod.errors import EvalpodError, InvalidConfig, PayloadTooLarge

access_log = logging.getLogger("evalpod.access")
BODY_OVERHEAD_BYTES = 64 * 1024
# A refusal sent while the client is still sending is lost to most clients (urllib,
# requests: EPIPE/ECONNRESET, never the 413). So the body of a refused request is read
# and dropped first, up to this much and this long; past either the connection closes.
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
DRAIN_LIMIT_S = 10.0
# Streamed uploads: the route caps them itself (the tenant's storage), never in memory.
STREAMED_UPLOAD = re.compile(r"^/api/v1/datasets/[^/]+/versions/?$")


def body_limit_bytes(max_script_bytes: int) -> int:
    """The largest request body any route but a streamed upload reads: a script at its cap,
    escaped at worst to twice its size in JSON, and the rest of the body."""
    return max_script_bytes * 2 + BODY_OVERHEAD_BYTES


def body_too_large(max_script_bytes: int) -> PayloadTooLarge:
    """The refusal of a body past `body_limit_bytes`. It names the script's cap too: that
    is the number a user can act on (the body limit is derived from it)."""
    limit = body_limit_bytes(max_script_bytes)
    return PayloadTooLarge(
        f"request body is over {limit} bytes (a script may be at most {max_script_bytes} "
        "bytes)",
        hint=f"Shrink the script to at most {max_script_bytes} bytes (the body limit allows "
             f"for it JSON-escaped, plus {BODY_OVERHEAD_BYTES} bytes of other fields).",
        detail={"limit_bytes": limit, "script_limit_bytes": max_script_bytes})


class BodyTooLarge(HTTPException):
    """A body sent without a Content-Length that grew past the limit as it streamed in.

    An HTTPException, so FastAPI's body reading passes it on (it turns other errors
    raised while reading into a 400); `api.errors` answers it with its `refusal`."""

    def __init__(self, max_script_bytes: int) -> None:
        self.refusal = body_too_large(max_script_bytes)
        super().__init__(413, self.refusal.message)


class ObserveRequests:
    """Request ids, metrics and the access log. Refuses a body past `body_limit_bytes`:
    one whose Content-Length says so before routing (its body read and dropped first, so
    the client reads the 413), one sent without (chunked) as soon as it grows past it, so
    that no body is held in memory whole. Streamed uploads cap themselves."""

    def __init__(self, app: ASGIApp, max_script_bytes: int) -> None:
        self.app = app
        self.max_script_bytes = max_script_bytes
        self.body_limit = body_limit_bytes(max_script_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            refusal = self._refusal(scope, headers)
            if refusal is None:
                await self.app(scope, self._limited(scope, receive), send_with_id)
            else:
                await drain_body(receive, DRAIN_LIMIT_BYTES, DRAIN_LIMIT_S)
                await error_response(refusal)(scope, receive, send_with_id)
        finally:
            _record(scope, status, time.perf_counter() - started, request_id)

    def _limited(self, scope: Scope, receive: Receive) -> Receive:
        """`receive`, raising `BodyTooLarge` once the body read so far is past the limit."""
        if STREAMED_UPLOAD.match(scope.get("path", "")):
            return receive
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.body_limit:
                    raise BodyTooLarge(self.max_script_bytes)
            return message

        return receive_limited

    def _refusal(self, scope: Scope, headers: Headers) -> EvalpodError | None:
        """What is refused before routing: oversized bodies and NUL in the path or query."""
        length = headers.get("content-length")
        if STREAMED_UPLOAD.match(scope.get("path", "")):
            length = None
        if length and length.isdigit() and int(length) > self.body_limit:
            return body_too_large(self.max_script_bytes)
        if _has_nul(scope):
            return InvalidConfig(
                "NUL characters are not allowed in the path or query",
                detail={"errors": [{"field": "query", "message": "contains a NUL character"}]})
        if has_lone_surrogate(scope.get("path", "")):
            # uvicorn and Starlette decode the path and query with errors="replace"; a
            # server that decodes the path with surrogateescape would pass one on.
            return InvalidConfig("the path is not valid UTF-8", detail={"errors": [
                {"field": "path", "message": LONE_SURROGATE_MESSAGE}]})
        return None


async def drain_body(receive: Receive, limit_bytes: int, limit_s: float) -> int:
    """Read and drop the request body until its end, `limit_bytes` or `limit_s`, whichever
    comes first; returns the bytes dropped. Never raises."""
    dropped = 0

    async def read() -> None:
        nonlocal dropped
        while dropped <= limit_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            dropped += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    with contextlib.suppress(TimeoutError, OSError):
        await asyncio.wait_for(read(), limit_s)
    return dropped


def _has_nul(scope: Scope) -> bool:
    """PostgreSQL text cannot hold NUL: refuse it at the edge instead of failing deep inside."""
    raw = scope.get("query_string", b"") + scope.get("raw_path", b"")
    return b"%00" in raw or b"\x00" in raw or "\x00" in scope.get("path", "")


def _record(scope: Scope, status: int, elapsed: float, request_id: str) -> None:
    route = getattr(scope.get("route"), "path", "unmatched")
    method = scope["method"]
    metrics.REQUESTS.labels(route, method, str(status)).inc()
    metrics.LATENCY.labels(route, method).observe(elapsed)
    state: dict[str, Any] = scope.get("state") or {}
    principal = state.get("principal")
    access_log.info(json.dumps({
        "request_id": request_id, "method": method, "path": scope.get("path"),
        "route": route, "status": status, "ms": round(elapsed * 1000, 2),
        "tenant": getattr(principal, "tenant_id", None),
    }))
