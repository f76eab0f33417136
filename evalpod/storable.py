"""Text and JSON from the sandbox made storable on PostgreSQL and SQLite.

A sandboxed script controls its output, its exception messages and its result, and
some of that cannot be stored as written: PostgreSQL refuses NUL in `text` and `json`
(`invalid byte sequence for encoding "UTF8": 0x00`), neither database can encode a lone
surrogate (`"\\ud800"`) as UTF-8, and `NaN`/`Infinity` are not JSON (PostgreSQL's `json`
refuses them and a JSON response cannot carry them). Every write of sandbox-derived
values goes through these two functions; `evalpod.lifecycle` applies them to every
value and reason it writes, so a status change cannot fail on what a script printed.

What changes: NUL and any code point that is not encodable as UTF-8 become U+FFFD;
non-finite floats become `null`. Everything else is kept as it was.
"""

from __future__ import annotations

import math
from typing import Any

REPLACEMENT = "\ufffd"


def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD (same length in characters)."""
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Each surrogate is replaced on its own, so the length in characters is kept.
        return "".join(REPLACEMENT if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


def storable_json(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, str, numbers, None) with every
    string (keys too) passed through `storable_text` and non-finite floats as None.
    Other objects are returned as they are (the column's serialiser decides)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {storable_text(k) if isinstance(k, str) else k: storable_json(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable_json(item) for item in value]
    return value
