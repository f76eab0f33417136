"""Text the service can send back: lone surrogates are refused at the edge, replaced on output.

A JSON string may hold a lone UTF-16 surrogate (`"\\ud800"`), and so may a body in
surrogate-encoded UTF-8 (the bytes ED A0 80): `json.loads`, which FastAPI parses bodies
with, accepts both. Such text cannot be encoded as UTF-8, so once stored (a JSON column
keeps the escape) every response that carries it failed with a 500. Every API route is
a `TextCheckedRoute`, which refuses such a body with INVALID_CONFIG before anything reads
it; `SendableJson` guards the read schemas against what was stored before, or by a sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import PlainSerializer
from starlette.requests import Request
from starlette.responses import Response

# Bytes without which a JSON body cannot hold a lone surrogate: a `\uD800`-`\uDFFF`
# escape, a surrogate in surrogate-encoded UTF-8 (ED A0-BF), or any NUL byte (a UTF-16
# or UTF-32 body, which `json.loads` also decodes). Only a body with one of them is parsed
# before FastAPI parses it (Starlette keeps the parsed value, so it is parsed once).
_MAY_HOLD_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|\x00")
_SURROGATE = re.compile("[\ud800-\udfff]")
LONE_SURROGATE_MESSAGE = ("contains a lone surrogate (a \\ud800-\\udfff code unit without "
                          "its pair), which is not text that can be stored")

JsonPath = tuple[str | int, ...]


def has_lone_surrogate(text: str) -> bool:
    """Whether `text` cannot be encoded as UTF-8 (a pair in JSON decodes to one character,
    so any surrogate left in a `str` is a lone one)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def lone_surrogate_path(value: Any, path: JsonPath = ()) -> JsonPath | None:
    """Where in a parsed JSON value the first lone surrogate is (a key's path ends with the
    key itself), or None if there is none."""
    if isinstance(value, str):
        return path if has_lone_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if has_lone_surrogate(key):
                return (*path, key)
            found = lone_surrogate_path(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_path(item, (*path, index))
            if found is not None:
                return found
    return None


def printable(part: str | int) -> str | int:
    """A path part that can be sent back: lone surrogates written as `\\udXXX`."""
    if isinstance(part, str) and has_lone_surrogate(part):
        return part.encode("utf-8", "backslashreplace").decode("utf-8")
    return part


def lone_surrogate_error(path: JsonPath) -> RequestValidationError:
    return RequestValidationError([{
        "type": "string_unicode",
        "loc": ("body", *(printable(part) for part in path)),
        "msg": LONE_SURROGATE_MESSAGE,
        "input": None,
    }])


async def refuse_lone_surrogates(request: Request) -> None:
    """Raise `RequestValidationError` if the request's JSON body holds a lone surrogate.

    A body that is not JSON is left to FastAPI, which refuses it as before."""
    body = await request.body()
    if _MAY_HOLD_SURROGATE.search(body) is None:
        return
    try:
        value = await request.json()
    except ValueError:  # JSONDecodeError, UnicodeDecodeError: FastAPI answers them
        return
    path = lone_surrogate_path(value)
    if path is not None:
        raise lone_surrogate_error(path)


class TextCheckedRoute(APIRoute):
    """The route class of every API router: a JSON body holding a lone surrogate is refused
    (422 INVALID_CONFIG, the field named) before FastAPI decodes or validates it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or isinstance(self.body_field.field_info, params.Form):
            return handler  # no JSON body (form fields are decoded with errors="replace")

        async def checked(request: Request) -> Response:
            await refuse_lone_surrogates(request)
            return await handler(request)

        return checked


def sendable(value: Any) -> Any:
    """`value` with each lone surrogate replaced by U+FFFD (as a URL's undecodable bytes
    are): nothing the API accepts now holds one, but rows stored before, and what a
    sandbox reported (a result's keys, a dataset's columns), may. Returned as is (not
    copied) when it holds none, the case of every row but those."""
    if lone_surrogate_path(value) is None:
        return value
    return _replaced(value)


def _replaced(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_replaced(key): _replaced(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item) for item in value]
    return value


# Stored JSON in a read schema, serialised to JSON with lone surrogates replaced.
SendableJson = Annotated[dict[str, Any], PlainSerializer(
    sendable, return_type=dict[str, Any], when_used="json")]
SendableJsonObjects = Annotated[list[dict[str, Any]], PlainSerializer(
    sendable, return_type=list[dict[str, Any]], when_used="json")]
