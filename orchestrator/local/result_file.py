"""Reads the job's result file without trusting anything the sandbox could have shaped."""

from __future__ import annotations

import os
import stat

from pydantic import ValidationError

from orchestrator.sandbox import HarnessResult, ResultRejected

RESULT_NAME = "result.json"


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
        data = os.read(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ResultRejected(f"result file is larger than {max_bytes} bytes")
    return data


def parse_result(data: bytes) -> HarnessResult:
    try:
        return HarnessResult.model_validate_json(data)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise ResultRejected(f"result file is not a valid result: {reason}") from exc


def read_result(dir_fd: int, max_bytes: int) -> HarnessResult:
    return parse_result(read_result_bytes(dir_fd, max_bytes))
