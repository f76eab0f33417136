"""Maps every error, ours and the framework's, once to the CONTRACT's envelope."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.text import printable
from evalpod.errors import (
    EvalpodError,
    Forbidden,
    InvalidConfig,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger("evalpod.api")

STATUS_ERRORS: dict[int, type[EvalpodError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    503: Unavailable,
}


class ErrorBody(BaseModel):
    code: str = Field(examples=["JOB_NOT_FOUND"])
    message: str
    hint: str
    detail: dict[str, Any] = Field(default_factory=dict)
    timestamp: str


class ErrorEnvelope(BaseModel):
    error: ErrorBody


def envelope(error: EvalpodError) -> dict[str, Any]:
    body = ErrorBody(
        code=error.code,
        message=error.message,
        hint=error.hint,
        detail=error.detail,
        timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return {"error": body.model_dump()}


def error_response(error: EvalpodError) -> JSONResponse:
    return JSONResponse(envelope(error), status_code=error.status_code, headers=error.headers)


def responses(*errors: type[EvalpodError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the errors a route can return."""
    out: dict[int | str, dict[str, Any]] = {}
    if InvalidConfig in errors:
        # A body that is not JSON at all is a 400 INVALID_CONFIG, not a 422.
        out[400] = {"model": ErrorEnvelope, "description": "INVALID_CONFIG (unparseable body)"}
    for error in errors:
        entry = out.setdefault(error.status_code, {"model": ErrorEnvelope, "description": ""})
        entry["description"] = " / ".join(filter(None, [entry["description"], error.code]))
    return out


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            # A dict key in `loc` is the client's text: it may not be encodable.
            "field": ".".join(str(printable(p)) for p in err.get("loc", ()) if p != "body"),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]


async def _on_evalpod_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EvalpodError)
    return error_response(exc)


def _line_column(document: Any, position: int) -> tuple[int, int]:
    """1-based line and column of `position` in the body FastAPI failed to decode."""
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
    if not isinstance(text, str):
        return 1, position + 1
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def _unreadable_body(request: Request, exc: RequestValidationError) -> InvalidConfig | None:
    """The body as a whole is not a JSON object (not JSON, empty, another content type):
    said as such, with the decoder's message and where, instead of a field named by a
    character position (FastAPI's `loc` for `json_invalid` is ("body", position))."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        position = first["loc"][1] if len(first.get("loc", ())) > 1 else 0
        line, column = _line_column(exc.body, int(position))
        reason = str(first.get("ctx", {}).get("error", "JSON decode error"))
        # As `json.JSONDecodeError` says it: "Expecting value: line 3 column 7 (char 17)".
        where = f"{reason}: line {line} column {column} (char {position})"
        return InvalidConfig(f"request body is not valid JSON: {where}",
                             hint=JSON_BODY_HINT, detail={"errors": [{
                                 "field": "body", "message": where,
                                 "type": "json_invalid", "line": line, "column": column,
                                 "position": position}]})
    if tuple(first.get("loc", ())) != ("body",):
        return None
    content_type = request.headers.get("content-type", "")
    if first.get("type") == "missing":
        message = "request body is empty; send a JSON object"
    elif isinstance(first.get("input"), bytes):  # FastAPI parses only a JSON content type
        sent = f"as {printable(content_type)!s}" if content_type else "without a Content-Type"
        message = f"request body is sent {sent}, not as JSON; send Content-Type: application/json"
    elif first.get("type") == "model_attributes_type":
        message = f"request body must be a JSON object, not {_json_kind(first.get('input'))}"
    else:
        return None
    return InvalidConfig(message, hint=JSON_BODY_HINT, detail={"errors": [{
        "field": "body", "message": message, "type": first.get("type", "")}]})


JSON_BODY_HINT = ("Send the body as one JSON object with Content-Type: application/json; "
                  "see /api/docs for its fields.")


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return kinds.get(type(value), "a JSON object")


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    unreadable = _unreadable_body(request, exc)
    if unreadable is not None:
        return error_response(unreadable)
    errors = _field_errors(exc)
    fields = ", ".join(e["field"] or "body" for e in errors[:5])
    return error_response(
        InvalidConfig(f"invalid request: {fields}", detail={"errors": errors})
    )


def _allowed_methods(request: Request) -> str:
    """Every method any route serves at this path (Starlette reports only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return ", ".join(sorted(methods))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = STATUS_ERRORS.get(exc.status_code, EvalpodError)
    message = exc.detail if isinstance(exc.detail, str) else kind.__name__
    error = kind(message)
    refusal = getattr(exc, "refusal", None)  # `api.observe.BodyTooLarge`
    if isinstance(refusal, EvalpodError):
        error = refusal
    if kind is EvalpodError:
        error = InvalidConfig(message) if 400 <= exc.status_code < 500 else error
    undecodable = exc.__cause__  # FastAPI's 400 for a body `json.loads` cannot even decode
    if exc.status_code == 400 and isinstance(undecodable, UnicodeDecodeError):
        reason = f"{undecodable.reason} at byte {undecodable.start}"
        error = InvalidConfig(f"request body is not valid UTF-8: {reason}", hint=JSON_BODY_HINT,
                              detail={"errors": [{"field": "body", "message": reason,
                                                  "type": "json_invalid"}]})
    error.headers = dict(exc.headers or {})
    if exc.status_code == 405:
        error.headers["Allow"] = _allowed_methods(request)
    response = error_response(error)
    response.status_code = exc.status_code
    return response


def _refused_value(exc: Exception) -> bool:
    """The database refused a value (NUL in text, number out of range), not a failure of ours."""
    if isinstance(exc, DataError):
        return True
    cause = getattr(getattr(exc, "orig", None), "__cause__", None)
    return isinstance(cause, asyncpg.exceptions.DataError)


async def _on_data_error(request: Request, exc: Exception) -> JSONResponse:
    if not _refused_value(exc):
        return await _on_unhandled(request, exc)
    log.info("database refused a value: %s", type(getattr(exc, "orig", exc)).__name__)
    return error_response(InvalidConfig(
        "a value in the request cannot be stored (NUL character or out-of-range number)",
        detail={"errors": [{"field": "body", "message": "value cannot be stored"}]}))


async def _on_unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(EvalpodError("internal server error"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(EvalpodError, _on_evalpod_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(DBAPIError, _on_data_error)
    app.add_exception_handler(Exception, _on_unhandled)
