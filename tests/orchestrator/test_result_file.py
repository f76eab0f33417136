"""Result hand-off: only a small regular file with a valid result is accepted."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.local.result_file import read_result
from orchestrator.sandbox import ResultRejected

GOOD = json.dumps({"ok": True, "metrics": {"acc": 1.0}})


@pytest.fixture
def out(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    directory = tmp_path / "out"
    directory.mkdir()
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    yield directory, fd
    os.close(fd)


def test_regular_file_is_parsed(out: tuple[Path, int]) -> None:
    directory, fd = out
    (directory / "result.json").write_text(GOOD)
    assert read_result(fd, 1024).metrics == {"acc": 1.0}


def test_missing_file_is_rejected(out: tuple[Path, int]) -> None:
    with pytest.raises(ResultRejected, match="no result"):
        read_result(out[1], 1024)


def test_symlink_is_not_followed(out: tuple[Path, int], tmp_path: Path) -> None:
    directory, fd = out
    target = tmp_path / "host-secret.json"
    target.write_text(GOOD)
    (directory / "result.json").symlink_to(target)
    with pytest.raises(ResultRejected, match="opened safely"):
        read_result(fd, 1024)


def test_fifo_is_rejected_without_blocking(out: tuple[Path, int]) -> None:
    directory, fd = out
    os.mkfifo(directory / "result.json")
    started = time.monotonic()
    with pytest.raises(ResultRejected, match="not a regular file"):
        read_result(fd, 1024)
    assert time.monotonic() - started < 1


def test_hard_link_is_rejected(out: tuple[Path, int], tmp_path: Path) -> None:
    directory, fd = out
    other = tmp_path / "elsewhere.json"
    other.write_text(GOOD)
    os.link(other, directory / "result.json")
    with pytest.raises(ResultRejected, match="hard link"):
        read_result(fd, 1024)


def test_oversize_is_rejected(out: tuple[Path, int]) -> None:
    directory, fd = out
    (directory / "result.json").write_text(json.dumps({"ok": True, "metrics": {"p": "x" * 5000}}))
    with pytest.raises(ResultRejected, match="larger than"):
        read_result(fd, 1024)


# Empty is "no result file was written": the harness creates it empty before Landlock
# (tests/harness/test_landlock.py).
@pytest.mark.parametrize("body", ["{not json", "[]", '{"ok": "maybe"}', " "])
def test_invalid_json_is_rejected(out: tuple[Path, int], body: str) -> None:
    directory, fd = out
    (directory / "result.json").write_text(body)
    with pytest.raises(ResultRejected, match="not a valid result"):
        read_result(fd, 1024)


def test_directory_is_rejected(out: tuple[Path, int]) -> None:
    directory, fd = out
    (directory / "result.json").mkdir()
    with pytest.raises(ResultRejected):
        read_result(fd, 1024)


# The runtime guard's record (attack2 F1 c+d): the harness writes a header line before the
# script runs; "no denial" is only a record that is exactly that line.
HEADER = b'{"evalpod_guard_record": 1, "nonce": "' + b"ab" * 16 + b'"}\n'
DENIAL = b'{"event": "open", "detail": "open denied", "line": 9, "target": "/job/spec.json"}\n'


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        (HEADER, None),
        (HEADER + DENIAL, "open denied"),
        (b"", "runtime guard record tampered"),  # the reported example: FileIO.truncate(0)
        (HEADER[:-1], "runtime guard record tampered"),  # cut inside the header
        (HEADER[:20], "runtime guard record tampered"),
        (DENIAL, "runtime guard record tampered"),  # no header
        (b"\n" + HEADER, "runtime guard record tampered"),
        (HEADER.replace(b"ab", b"AB"), "runtime guard record tampered"),
        (HEADER + b"\n", "runtime guard record blanked"),  # bytes added after it
        (HEADER + b"x", "runtime guard record malformed"),
        (HEADER + HEADER, "runtime guard record malformed"),
        (HEADER + b'{"ok": true, "metrics": {}}', "runtime guard record malformed"),
    ],
)
def test_only_an_untouched_record_means_no_denial(
    out: tuple[Path, int], record: bytes, detail: str | None
) -> None:
    directory, fd = out
    (directory / "violation.json").write_bytes(record)
    (directory / "result.json").write_text(GOOD)
    result = read_result(fd, 1024)
    if detail is None:
        assert result.ok and result.violation is None
    else:
        assert not result.ok and result.metrics is None
        assert result.violation is not None and result.violation.detail == detail


def test_an_emptied_record_and_no_result_is_still_a_violation(out: tuple[Path, int]) -> None:
    directory, fd = out
    (directory / "violation.json").write_bytes(b"")
    (directory / "result.json").write_bytes(b"")
    result = read_result(fd, 1024)
    assert not result.ok and result.violation is not None
    assert result.violation.detail == "runtime guard record tampered"


def test_no_record_at_all_is_an_unguarded_job(out: tuple[Path, int]) -> None:
    directory, fd = out
    (directory / "result.json").write_text(GOOD)
    assert read_result(fd, 1024).violation is None
