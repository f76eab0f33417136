"""Bounded types for the values a client sends in paths, queries and cursors.

Each is parsed into a type with stated bounds before anything else sees it, and its
OpenAPI schema says exactly what is accepted: a value outside it is a 400/422 envelope
(`INVALID_CONFIG`), never a 500 deeper down, and every value inside it is served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator, PlainValidator, Strict, WithJsonSchema

from evalpod.errors import InvalidConfig

# Ids the API hands out (`ev_<hex>`, model and dataset names) and the ones it used to:
# anything outside this is not an id of ours, so it is refused before any lookup.
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
EvaluationIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="An evaluation id.")]

# RFC 3339 date-time (OpenAPI `format: date-time`): an offset is required; `T`/`Z` in
# either case; any number of second fractions (beyond microseconds they are dropped).
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def parse_datetime(value: Any) -> datetime:
    """An RFC 3339 string (or a datetime) as an aware UTC datetime.

    A time whose UTC equivalent lies outside the years 1-9999 is clamped to the nearest
    representable instant, which orders the same against every stored timestamp.
    Raises ValueError for anything that is not RFC 3339 (numbers, dates alone, no offset).
    """
    if isinstance(value, datetime):
        local = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 date-time string, e.g. 2026-01-31T12:00:00Z")
        match = _RFC3339.fullmatch(value)
        if match is None:
            raise ValueError("must be an RFC 3339 date-time with an offset, "
                             "e.g. 2026-01-31T12:00:00Z")
        local = _from_parts(match)
    try:
        return local.astimezone(UTC)
    except OverflowError:
        offset = local.utcoffset() or timedelta(0)
        return datetime.max.replace(tzinfo=UTC) if offset < timedelta(0) else \
            datetime.min.replace(tzinfo=UTC)


def _from_parts(match: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or ".0")[1:7].ljust(6, "0"))
    # RFC 3339 allows a leap second (:60); Python has none, so it is the second before.
    second_value = min(int(second), 59)
    if zone in ("Z", "z"):
        offset = timedelta(0)
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError("offset out of range")
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if zone[0] == "-" else 1)
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), second_value,
                        micros, tzinfo=timezone(offset))
    except ValueError as exc:
        raise ValueError(f"not a valid date-time: {exc}") from None


ClientDatetime = Annotated[
    datetime,
    PlainValidator(parse_datetime),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


# A page cursor is "<microseconds since the epoch>~<evaluation id>": every string of this
# shape is a valid cursor (a position in the newest-first order), so none can fail later.
CURSOR_PATTERN = r"^-?[0-9]{1,19}~[A-Za-z0-9_.:-]{1,128}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_MICROS = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_MAX_MICROS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class PageCursor:
    """Where the next page starts: after (created_at, evaluation_id) in newest-first order."""

    created_at: datetime
    evaluation_id: str

    def encode(self) -> str:
        micros = (self.created_at.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}~{self.evaluation_id}"

    @classmethod
    def decode(cls, cursor: str) -> PageCursor:
        """Raises `InvalidConfig` (400-class envelope) for a string not of the cursor shape;
        timestamps past the representable range are clamped to it."""
        if not re.fullmatch(CURSOR_PATTERN, cursor):
            raise InvalidConfig("invalid cursor", detail={"errors": [
                {"field": "cursor", "message": "not a cursor returned by this API"}]})
        micros_text, evaluation_id = cursor.split("~", 1)
        micros = min(max(int(micros_text), _MIN_MICROS), _MAX_MICROS)
        return cls(_EPOCH + timedelta(microseconds=micros), evaluation_id)


CursorQuery = Annotated[str | None, Query(
    pattern=CURSOR_PATTERN, max_length=160,
    description="`next_cursor` of the previous page (opaque: pass it back unchanged).")]

# Free-text query filters: no control characters (PostgreSQL cannot hold NUL, logs should
# not carry escapes) and a stated length.
_PRINTABLE = r"[^\x00-\x1f\x7f]"
TagFilter = Annotated[str | None, Query(
    pattern=rf"^[^\x00-\x1f\x7f:]{{1,64}}(:{_PRINTABLE}{{0,256}})?$",
    description="`key` (has the tag) or `key:value` (the tag has this value).")]
ModelIdFilter = Annotated[str | None, Query(
    pattern=r"^[A-Za-z0-9_.:/-]{1,128}$", description="Only evaluations of this model.")]


# JSON numbers as JSON Schema reads them: an integer is any number with no fraction (so
# 3.0 is one), and neither a boolean nor a numeric string is a number. Pydantic's lax mode
# would take `false` and "3"; its strict mode would refuse 3.0.
def _json_integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a JSON integer (no fraction)")
        return int(value)
    return value


def _json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return value


# Bounds go before these in `Annotated` (`Annotated[int, Field(ge=1), JSON_INTEGER]`): after
# them, pydantic cannot place the bounds on the number's schema, and in a union (`| None`)
# the document would carry `ge`/`le` instead of `minimum`/`maximum`.
JSON_INTEGER = BeforeValidator(_json_integer)
JSON_NUMBER = BeforeValidator(_json_number)
JsonInt = Annotated[int, JSON_INTEGER]
JsonFloat = Annotated[float, JSON_NUMBER]


def _json_true(value: bool) -> bool:
    if value is not True:
        raise ValueError("must be true")
    return value


# `true` and `false` only: pydantic's lax bool takes 0, 1, "yes", "off"...
JsonBool = Annotated[bool, Strict()]
# `true` only (a `Literal[True]` would also take 1 and 1.0).
JsonTrue = Annotated[bool, Strict(), AfterValidator(_json_true),
                     WithJsonSchema({"type": "boolean", "const": True})]
