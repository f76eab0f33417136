"""Pod log bytes to job output lines, and the result marker line the entrypoint prints."""

from __future__ import annotations

import base64
import binascii
import math

from orchestrator.kubernetes.manifests import MAX_RECORD_BYTES, RESULT_MARKER
from orchestrator.lines import char_boundary, decode
from orchestrator.local.result_file import guard_denial, with_denial
from orchestrator.sandbox import GuardDenial, HarnessResult, ResultRejected

MAX_LINE_BYTES = 64 * 1024
_MARKER = RESULT_MARKER.encode()


def marker_budget(max_result_bytes: int) -> int:
    """Bytes of marker lines hidden from the job's output: one maximal encoded result
    and guard record."""
    result = 4 * math.ceil((max_result_bytes + 1) / 3)
    record = 4 * math.ceil((MAX_RECORD_BYTES + 1) / 3)
    return len(_MARKER) + result + 1 + record + 2


class LogLineSplitter:
    """Splits a byte stream into lines of at most 64 KiB, hiding the result marker line.

    A longer line comes as pieces cut between characters, marked `continues`.

    The budget bounds what the marker can hide, so a script cannot escape the
    monitor's output cap by prefixing its own lines with the marker.
    """

    def __init__(self, hidden_budget: int) -> None:
        self._buffer = bytearray()
        self._budget = hidden_budget
        self._hiding = False
        self._at_line_start = True

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        lines: list[str] = []
        while self._step(lines):
            pass
        return lines

    def flush(self) -> list[str]:
        lines: list[str] = []
        if self._buffer and not self._hiding:
            lines.append(decode(self._buffer, continues=False))
        self._buffer.clear()
        return lines

    def _step(self, lines: list[str]) -> bool:
        """Consume one piece of the buffer; False when more data is needed."""
        if self._hiding:
            return self._skip_hidden()
        if self._at_line_start and self._budget > 0 and self._buffer.startswith(_MARKER):
            self._hiding = True
            return True
        newline = self._buffer.find(b"\n")
        if newline < 0 or newline > MAX_LINE_BYTES:
            if len(self._buffer) <= MAX_LINE_BYTES:  # the cut needs the byte after it
                return False
            cut = char_boundary(self._buffer, MAX_LINE_BYTES)
            self._emit(lines, cut, consumed=cut, line_end=False)
            return True
        self._emit(lines, newline, consumed=newline + 1, line_end=True)
        return True

    def _skip_hidden(self) -> bool:
        newline = self._buffer.find(b"\n")
        line_bytes = len(self._buffer) if newline < 0 else newline + 1
        consumed = min(line_bytes, self._budget)
        self._budget -= consumed
        del self._buffer[:consumed]
        ended = newline >= 0 and consumed == line_bytes
        if ended or self._budget <= 0:
            self._hiding = False
            self._at_line_start = ended
        return bool(self._buffer)

    def _emit(self, lines: list[str], end: int, *, consumed: int, line_end: bool) -> None:
        lines.append(decode(self._buffer[:end], continues=not line_end))
        del self._buffer[:consumed]
        self._at_line_start = line_end


def parse_result(log_tail: bytes, max_result_bytes: int) -> HarnessResult:
    """The harness result from the last marker line of the log (`<result> [<record>]`,
    each base64), with the runtime guard's record folded in as the local backend does
    (orchestrator/local/result_file.py: an emptied or altered record is a denial).
    Raises `ResultRejected`."""
    marker_lines = [line for line in log_tail.split(b"\n") if line.startswith(_MARKER)]
    if not marker_lines:
        raise ResultRejected("the pod log carries no result (the harness wrote no result file)")
    if len(marker_lines[-1]) > marker_budget(max_result_bytes):
        raise ResultRejected(f"result larger than {max_result_bytes} bytes")
    # Not .strip(): an empty record is an empty last part, and an empty result the first.
    parts = marker_lines[-1][len(_MARKER) :].rstrip(b"\r").split(b" ")
    if len(parts) > 2:
        raise ResultRejected("result marker line is malformed")
    denial = _record_denial(parts[1]) if len(parts) == 2 else None
    return with_denial(denial, lambda: _decode_result(parts[0], max_result_bytes))


def _record_denial(encoded: bytes) -> GuardDenial | None:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        return GuardDenial(event="unknown", detail="runtime guard record unreadable")
    return guard_denial(raw)


def _decode_result(encoded: bytes, max_result_bytes: int) -> HarnessResult:
    if not encoded:
        raise ResultRejected("the pod log carries no result (the harness wrote no result file)")
    if len(encoded) > 4 * math.ceil((max_result_bytes + 1) / 3):
        raise ResultRejected(f"result larger than {max_result_bytes} bytes")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ResultRejected(f"result is not valid base64: {exc}") from exc
    if len(raw) > max_result_bytes:
        raise ResultRejected(f"result larger than {max_result_bytes} bytes")
    try:
        return HarnessResult.model_validate_json(raw)
    except ValueError as exc:
        raise ResultRejected(f"result is not a valid result document: {exc}") from exc
