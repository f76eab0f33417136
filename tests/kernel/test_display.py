"""evalpod.display.neutralise: what a job printed, safe to show (#12.10)."""

from __future__ import annotations

from evalpod.display import neutralise


def test_terminal_sequences_become_visible_and_inert() -> None:
    title = "\x1b]0;owned\x07"
    link = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
    assert neutralise(title) == "␛]0;owned␇"
    assert neutralise(link) == "␛]8;;https://evil.example␛\\click␛]8;;␛\\"
    assert neutralise("50%\r\x1b[2K60%") == "50%␍␛[2K60%"
    assert neutralise("\x00\x7f\x9b31m") == "␀␡\\x9b31m"


def test_hidden_reordering_and_line_breaks_are_shown() -> None:
    assert neutralise("admin\u202e\u2066txt.exe") == "admin\\u202e\\u2066txt.exe"
    assert neutralise("a\u2028b\u2029c\x85d") == "a\\u2028b\\u2029c\\x85d"


def test_text_tabs_and_newlines_are_left_alone() -> None:
    text = "Traceback (most recent call last):\n\tline €😀 ü ½"
    assert neutralise(text) == text
    controls = "".join(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0)]))
    shown = neutralise(controls)
    assert not any((ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) < 0xA0 for c in shown)
