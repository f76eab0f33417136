"""Reads the job's result file without trusting anything the sandbox could have shaped."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from orchestrator.sandbox import GUARD_RECORD_NAME, GuardDenial, HarnessResult, ResultRejected

RESULT_NAME = "result.json"
# The guard writes at most a few dozen short lines; anything bigger is not its record.
MAX_GUARD_RECORD_BYTES = 64 * 1024
# The record's first line (sandbox_images/harness/guard.py RECORD_HEADER), written by the
# harness before any of the job runs: a record without it, or cut, was tampered with.
GUARD_RECORD_HEADER = re.compile(rb'\{"evalpod_guard_record": 1, "nonce": "[0-9a-f]{32}"\}\n')
TAMPERED = "runtime guard record tampered"


def read_result_bytes(dir_fd: int, max_bytes: int, name: str = RESULT_NAME) -> bytes:
    """The file's bytes, opened relative to a host-held dir fd; no symlink, FIFO or hard link."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError as exc:
        raise ResultRejected("no result file was written") from exc
    except OSError as exc:  # ELOOP: a symlink; ENXIO etc.: a socket or device
        raise ResultRejected(f"result file cannot be opened safely: {exc.strerror}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ResultRejected("result file is not a regular file")
        if info.st_nlink != 1:
            raise ResultRejected("result file is a hard link")
        if info.st_size > max_bytes:
            raise ResultRejected(f"result file is larger than {max_bytes} bytes")
        if info.st_size == 0 and name == RESULT_NAME:
            # The harness creates it empty before the job's code runs (Landlock then
            # leaves it no path to /out) and fills it at the end: empty is none written.
            raise ResultRejected("no result file was written")
        data = os.read(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ResultRejected(f"result file is larger than {max_bytes} bytes")
    return data


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_result(data: bytes) -> HarnessResult:
    """Strict JSON (no NaN/Infinity, which the harness never writes) into a result.

    Raises `ResultRejected`.
    """
    try:
        raw = json.loads(data, parse_constant=_no_constants)
        return HarnessResult.model_validate(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and ValidationError too
        if isinstance(exc, ValidationError):
            reason = exc.errors()[0]["msg"]
        else:
            reason = str(exc).splitlines()[0][:200]
        raise ResultRejected(f"result file is not a valid result: {reason}") from exc


def read_guard_record(dir_fd: int) -> GuardDenial | None:
    """The runtime guard's first denial, from the record the harness opened before the
    script ran; None when there is no record (an unguarded job) or when it is exactly
    the header line the harness wrote (`GUARD_RECORD_HEADER`).

    A record that exists but cannot be read as the guard writes it is still a denial:
    only the script could have shaped it, and it only does so to hide one. Empty, cut,
    without its header or with bytes after it that are not denials: `TAMPERED`.
    """
    try:
        data = read_result_bytes(dir_fd, MAX_GUARD_RECORD_BYTES, GUARD_RECORD_NAME)
    except ResultRejected as exc:
        if "no result file" in str(exc):
            return None
        return GuardDenial(event="unknown", detail=f"runtime guard record unreadable: {exc}")
    return guard_denial(data)


def guard_denial(data: bytes) -> GuardDenial | None:
    """The first denial in the bytes of an existing guard record (see `read_guard_record`;
    also the Kubernetes reader's, which gets the record through the pod log)."""
    if len(data) > MAX_GUARD_RECORD_BYTES:
        return GuardDenial(event="unknown", detail="runtime guard record unreadable: too large")
    header = GUARD_RECORD_HEADER.match(data)
    if header is None:
        return GuardDenial(event="unknown", detail=TAMPERED)
    data = data[header.end() :]
    if not data:
        return None
    # The guard writes whole JSON lines and nothing else writes here: bytes that are not
    # its first line came through the harness's descriptor, to hide a denial (a blank
    # line first would otherwise push the real record off the first line).
    lines = [line.strip() for line in data.split(b"\n") if line.strip()]
    if not lines:
        return GuardDenial(event="unknown", detail="runtime guard record blanked")
    first = lines[0]
    try:
        return GuardDenial.model_validate(json.loads(first, parse_constant=_no_constants))
    except (ValueError, RecursionError):
        return GuardDenial(event="unknown", detail="runtime guard record malformed")


def read_result(dir_fd: int, max_bytes: int) -> HarnessResult:
    """The job's result with the guard's record folded in.

    The record wins over whatever `result.json` says: a job that was denied anything
    did not succeed, even if it wrote a result or exited before writing one. Raises
    `ResultRejected` when there is neither a valid result nor a denial.
    """
    denial = read_guard_record(dir_fd)
    return with_denial(denial, lambda: parse_result(read_result_bytes(dir_fd, max_bytes)))


def with_denial(denial: GuardDenial | None, parse: Callable[[], HarnessResult]) -> HarnessResult:
    """`parse()`'s result with the guard's denial folded in: the denial wins, also over
    a missing or invalid result. Raises `ResultRejected` when there is neither."""
    try:
        result = parse()
    except ResultRejected as exc:
        if denial is None:
            raise
        return HarnessResult(ok=False, error=str(exc), violation=denial)
    if denial is not None:
        return result.model_copy(update={"ok": False, "metrics": None, "violation": denial})
    return result
