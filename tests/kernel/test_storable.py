"""`evalpod.storable`: what cannot be stored is replaced, nothing else changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evalpod.storable import storable_json, storable_text


@given(st.text())
def test_storable_text_is_utf8_without_nul_and_keeps_the_rest(text: str) -> None:
    stored = storable_text(text)
    stored.encode("utf-8")  # raises on a lone surrogate
    assert "\x00" not in stored and len(stored) == len(text)
    assert all(a == b for a, b in zip(text, stored, strict=True)
               if a != "\x00" and not "\ud800" <= a <= "\udfff")


def test_storable_json_walks_keys_values_and_floats() -> None:
    assert storable_json({"a\x00": ["\ud800", float("inf"), 2, False, None, ("t",)]}) == {
        "a\ufffd": ["\ufffd", None, 2, False, None, ["t"]]}
    assert storable_json("plain") == "plain"
