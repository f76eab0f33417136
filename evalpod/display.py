"""Text a job printed, made safe to show: control characters become visible, inert marks.

What a job prints is stored as printed (the archive keeps every byte); wherever it is
shown (the SSE stream, `stdout_tail`, the CLI) it goes through `neutralise` first, so a
job cannot set a terminal's title, clear lines, hide text or plant hyperlinks. Tabs and
newlines stay (a log line never holds one; a tail or a traceback is several lines).
"""

from __future__ import annotations

# C0 controls show as their Unicode "control pictures" (ESC as U+241B, NUL as U+2400),
# DEL as U+2421; C1 controls, bidirectional overrides and Unicode line separators as
# escapes, since a reader cannot see them and they reorder or break what follows.
_INVISIBLE = [*range(0x80, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
              *range(0x2066, 0x206A), 0x2028, 0x2029]
_TABLE: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)
                          if code not in (0x09, 0x0A)}
_TABLE[0x7F] = "\u2421"
_TABLE.update({code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
               for code in _INVISIBLE})


def neutralise(text: str) -> str:
    """`text` with every control character but tab and newline replaced by a visible
    stand-in, in place (a carriage return shows as U+240D)."""
    return text.translate(_TABLE)
