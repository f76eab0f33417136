"""Job output bytes to lines, cut only between characters, every byte kept.

Both backends read the sandbox's output as a byte stream in arbitrary chunks (pipe
reads, pod log frames). A line longer than `MAX_LINE_BYTES` is delivered as several
pieces, each cut at a UTF-8 character boundary; every piece but the last is an
`OutputLine` with `continues=True`, so readers can join them back into the line.
"""

from __future__ import annotations

from orchestrator.sandbox import OutputLine

MAX_LINE_BYTES = 64 * 1024


def char_boundary(data: bytes | bytearray, limit: int) -> int:
    """The largest cut ≤ `limit` that does not split a UTF-8 character of `data`.

    A cut lands before a lead byte; if the three bytes before `limit` are all
    continuation bytes the text is not UTF-8 there, and `limit` itself is used.
    """
    if limit >= len(data):
        return len(data)
    cut = limit
    while cut > limit - 3 and cut > 0 and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut if cut > 0 and data[cut] & 0xC0 != 0x80 else limit


def decode(piece: bytes | bytearray, *, continues: bool) -> OutputLine:
    """One line or piece as text; invalid UTF-8 becomes U+FFFD, a CRLF ending a plain LF."""
    if not continues and piece.endswith(b"\r"):
        piece = piece[:-1]
    return OutputLine(bytes(piece).decode("utf-8", "replace"), continues=continues)


class LineSplitter:
    """Feed bytes in any chunking; get the same lines as if the stream came whole."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_line_bytes

    def feed(self, data: bytes) -> list[OutputLine]:
        self._buffer += data
        lines: list[OutputLine] = []
        start = 0
        while True:
            newline = self._buffer.find(b"\n", start, start + self._max + 1)
            if newline >= 0:
                lines.append(decode(self._buffer[start:newline], continues=False))
                start = newline + 1
            elif len(self._buffer) - start > self._max:
                cut = start + char_boundary(self._buffer[start:start + self._max + 4], self._max)
                lines.append(decode(self._buffer[start:cut], continues=True))
                start = cut
            else:
                break
        del self._buffer[:start]
        return lines

    def flush(self) -> list[OutputLine]:
        """What is left when the stream ends (a last line with no newline)."""
        if not self._buffer:
            return []
        line = decode(self._buffer, continues=False)
        self._buffer.clear()
        return [line]
