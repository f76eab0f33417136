"""Log bytes to lines, and the result marker line to a `HarnessResult`."""

from __future__ import annotations

import base64
import json

import pytest

from orchestrator.kubernetes.logs import (
    MAX_LINE_BYTES,
    LogLineSplitter,
    marker_budget,
    parse_result,
)
from orchestrator.sandbox import ResultRejected


def marker(payload: bytes) -> bytes:
    return b"EVALPOD_RESULT " + base64.b64encode(payload)


def test_lines_survive_arbitrary_chunking_and_the_marker_is_hidden() -> None:
    data = b"one\ntw\xc3\xa9o\n" + marker(b'{"ok": true}') + b"\nthree"
    splitter = LogLineSplitter(marker_budget(1024))
    lines: list[str] = []
    for i in range(len(data)):
        lines += splitter.feed(data[i : i + 1])
    lines += splitter.flush()
    assert lines == ["one", "twéo", "three"]


def test_long_lines_are_split_at_64_kib() -> None:
    splitter = LogLineSplitter(0)
    lines = splitter.feed(b"x" * (MAX_LINE_BYTES * 2 + 5) + b"\n")
    assert [len(line) for line in lines] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 5]


def test_marker_only_counts_at_line_start_and_within_budget() -> None:
    splitter = LogLineSplitter(40)
    lines = splitter.feed(b"say EVALPOD_RESULT x\n" + b"EVALPOD_RESULT " + b"A" * 100 + b"\n")
    lines += splitter.feed(b"EVALPOD_RESULT visible\n")
    assert lines[0] == "say EVALPOD_RESULT x"
    assert lines[-1] == "EVALPOD_RESULT visible"


def test_parse_result_takes_the_last_marker() -> None:
    log = (
        marker(b'{"ok": false, "error": "forged"}')
        + b"\nnoise\n"
        + marker(json.dumps({"ok": True, "metrics": {"a": 1}}).encode())
        + b"\n"
    )
    result = parse_result(log, 1024)
    assert result.ok and result.metrics == {"a": 1}


@pytest.mark.parametrize(
    ("log", "message"),
    [
        (b"no marker here\n", "no result"),
        (b"EVALPOD_RESULT ***\n", "base64"),
        (marker(b"x" * 2048) + b"\n", "larger"),
        (marker(b"[1, 2]") + b"\n", "valid result"),
    ],
)
def test_parse_result_rejects(log: bytes, message: str) -> None:
    with pytest.raises(ResultRejected, match=message):
        parse_result(log, 1024)


def test_an_oversized_fake_marker_line_shows_past_the_budget() -> None:
    splitter = LogLineSplitter(40)
    lines = splitter.feed(b"EVALPOD_RESULT " + b"A" * 100 + b"\n")
    assert lines == ["A" * 75]
