"""Helpers shared by the real model handle and the stub (no torch here)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    if size < 1:
        raise ValueError("batch_size must be at least 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def truncate_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """`text` cut before the earliest occurrence of any non-empty stop string."""
    cut = len(text)
    for marker in stop or ():
        if marker:
            found = text.find(marker)
            if found != -1:
                cut = min(cut, found)
    return text[:cut]


def require_list(value: object, name: str) -> None:
    """Reject a bare string where a list is expected: it would be read one character at a time."""
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise TypeError(f"{name} must be a list, got {type(value).__name__}")


def check_generate_args(max_new_tokens: int, temperature: float, max_length: int) -> None:
    """Raise ValueError for generation arguments no model could honour."""
    if max_new_tokens < 1 or max_new_tokens >= max_length:
        raise ValueError(f"max_new_tokens must be in [1, {max_length - 1}]")
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
