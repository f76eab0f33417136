"""Limit checks the supervisor applies to a running job's output and resource usage."""

from __future__ import annotations

import time
from collections import deque

from orchestrator.sandbox import ResourceLimits, ResourceUsage, Violation, ViolationKind

TAIL_BYTES = 4096
MIB = 1024 * 1024


class TailBuffer:
    """The last ~4 KiB of output, for `stdout_tail`."""

    def __init__(self, max_bytes: int = TAIL_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lines: deque[str] = deque()
        self._size = 0
        self._open = False

    def add(self, line: str) -> None:
        """Add a line; a piece marked `continues` is joined with the next one."""
        continues = bool(getattr(line, "continues", False))
        if self._open and self._lines:
            self._size -= len(self._lines[-1]) + 1
            line = self._lines.pop() + line
        self._open = continues
        line = line[-self.max_bytes :]
        self._lines.append(line)
        self._size += len(line) + 1
        while self._size > self.max_bytes and len(self._lines) > 1:
            self._size -= len(self._lines.popleft()) + 1

    def text(self) -> str:
        return "\n".join(self._lines)[-self.max_bytes :]


class OutputMeter:
    """Total bytes cap plus a token bucket for the sustained line rate (one second of burst)."""

    def __init__(self, max_bytes: int, lines_per_s: int) -> None:
        self.max_bytes = max_bytes
        self.rate = float(lines_per_s)
        self.bytes = 0
        self._tokens = float(lines_per_s)
        self._last = time.monotonic()

    def add(self, line: str) -> str | None:
        """Account one line; the breach description, or None. It names the limit that was
        passed and its value for this job, which is what the user must change the script
        to stay under (the violation's detail, and a trial finding's message)."""
        self.bytes += len(line.encode("utf-8", "replace")) + 1
        if self.bytes > self.max_bytes:
            return (f"more than {self.max_bytes} bytes of output ({_mib(self.max_bytes)}), "
                    "the limit on a run's stdout and stderr together")
        now = time.monotonic()
        self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1
        if self._tokens < 0:
            return (f"more than {self.rate:g} output lines per second, the limit on a "
                    "run's sustained output rate")
        return None


def _mib(size: int) -> str:
    return f"{size / MIB:.3g} MiB"


def usage_violation(usage: ResourceUsage, limits: ResourceLimits) -> Violation | None:
    """A breach visible in one usage sample (the kernel enforces the same caps too).

    Memory is not judged from usage: cgroup v1 usage includes page cache that the kernel
    reclaims at the limit, so only a real OOM kill (`observed_violation`) counts.
    """
    if usage.processes is not None and usage.processes >= limits.max_processes:
        return Violation(
            kind=ViolationKind.processes, detail=f"reached {limits.max_processes} tasks"
        )
    if usage.disk_bytes is not None and usage.disk_bytes >= limits.disk_mb * MIB:
        return Violation(kind=ViolationKind.disk, detail=f"work dir reached {limits.disk_mb} MiB")
    return None
