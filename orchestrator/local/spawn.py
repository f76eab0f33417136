"""Start bwrap as an asyncio child that is born inside its job's cgroups (cgroup v1).

asyncio forks on the event loop's thread, so a child it starts is born where the
service is and must be moved afterwards: on v1 a write to `cgroup.procs`, whose first
use after a quiet spell waits an RCU grace period (11 ms idle, tens of ms on a loaded
host), paid by every cold start. Here the event loop's thread moves itself into the
job's cgroups (no global lock, `cgroups.move_current_thread`), forks bwrap there and
moves straight back; asyncio then reads the child's pipes and learns of its exit
through a pidfd.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.local.cgroups import move_current_thread

log = logging.getLogger(__name__)

STREAM_LIMIT = 64 * 1024  # asyncio's own default for a subprocess's StreamReader


@dataclass(frozen=True)
class SpawnRequest:
    """How to start the child. `enter`: v1 `tasks` files of the job's cgroups (None: start
    it where the service is); `leave`: the spawning thread's own, to go back to."""

    argv: Sequence[str]
    pass_fds: Sequence[int]
    stdin_pipe: bool = False
    enter: Sequence[str] | None = None
    leave: Sequence[str] = ()


class _WriteProtocol(asyncio.streams.FlowControlMixin):
    """A write pipe's protocol that a `StreamWriter` can wait to see closed."""

    def __init__(self) -> None:
        super().__init__()
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self._closed.done():
            self._closed.set_result(None)

    def _get_close_waiter(self, stream: asyncio.StreamWriter) -> asyncio.Future[None]:
        return self._closed


class Child:
    """The started child: `stdout` (stderr joined), `stdin` when piped, `returncode` once
    reaped (-N: killed by signal N), `wait()`. `close()` releases the pipes."""

    def __init__(self, popen: subprocess.Popen[bytes], born_inside: bool) -> None:
        self.pid = popen.pid
        self.born_inside = born_inside  # in the job's cgroups from its fork on
        self.returncode: int | None = None
        self.stdout: asyncio.StreamReader | None = None
        self.stdin: asyncio.StreamWriter | None = None
        self._popen = popen
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[None] = self._loop.create_future()
        self._transports: list[asyncio.BaseTransport] = []
        self._pidfd: int | None = None

    async def _connect(self) -> None:
        popen = self._popen
        if popen.stdout is not None:
            reader = asyncio.StreamReader(limit=STREAM_LIMIT)
            transport, _ = await self._loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), popen.stdout
            )
            self._transports.append(transport)
            self.stdout = reader
        if popen.stdin is not None:
            writer, protocol = await self._loop.connect_write_pipe(_WriteProtocol, popen.stdin)
            self._transports.append(writer)
            self.stdin = asyncio.StreamWriter(writer, protocol, None, self._loop)
        self._watch_exit()

    def _watch_exit(self) -> None:
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # before Linux 5.3: a thread blocks in waitpid
            threading.Thread(target=self._wait_blocking, name="evalpod-reap", daemon=True).start()
            return
        self._loop.add_reader(self._pidfd, self._reap)

    def _wait_blocking(self) -> None:
        self._popen.wait()
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self._loop.call_soon_threadsafe(self._reap)

    def _reap(self) -> None:
        code = self._popen.poll()
        if code is None:
            return
        self._stop_watching()
        self.returncode = code
        if not self._exited.done():
            self._exited.set_result(None)

    def _stop_watching(self) -> None:
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None

    async def wait(self) -> int:
        """The exit status once the child is reaped (not waiting for its pipes)."""
        await asyncio.shield(self._exited)
        assert self.returncode is not None
        return self.returncode

    def close(self) -> None:
        """Close the pipes; the child is still reaped when it exits."""
        for transport in self._transports:
            transport.close()


def _start(request: SpawnRequest) -> tuple[subprocess.Popen[bytes], bool]:
    """Into the job's cgroups, fork and exec, straight back out: no await in between,
    so nothing else runs on this thread while it is inside.

    The thread forks, never a helper thread: bwrap's --die-with-parent signal fires
    when the thread that forked it ends.
    """
    inside = False
    if request.enter is not None:
        try:
            # First a move to where the thread already is: proves the way back out.
            move_current_thread(list(request.leave))
        except OSError as exc:  # started outside instead: the caller moves the child
            log.warning("cannot move the service thread between cgroups: %s", exc)
        else:
            try:
                move_current_thread(list(request.enter))
                inside = True
            except OSError as exc:
                log.warning("could not start the sandbox inside its cgroups: %s", exc)
                _leave(request.leave)  # from those it did enter
    try:
        popen = _popen(request)
    except BlockingIOError:
        if not inside:
            raise
        # pids.max refused the fork (the thread counts there too, e.g. a cap of 1): start
        # outside, so the job itself meets the cap and ends as a `processes` violation.
        _leave(request.leave)
        inside = False
        return _popen(request), False
    finally:
        if inside:
            _leave(request.leave)
    return popen, inside


def _popen(request: SpawnRequest) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(request.argv),
        stdin=subprocess.PIPE if request.stdin_pipe else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=tuple(request.pass_fds),
        start_new_session=True,
        env={},
    )


def _leave(own: Sequence[str]) -> None:
    try:
        move_current_thread(list(own))
    except OSError as exc:
        # Not seen in practice (the same write passed just before). The job's cgroups
        # never count the service's pid (`JobCgroup.pids`), so it is not killed with them.
        log.error("the service thread could not leave a job's cgroups: %s", exc)


async def spawn(request: SpawnRequest) -> Child:
    """Start the child, in the job's cgroups from its fork on when `request.enter` names
    them and the thread may move (else `Child.born_inside` is False). Raises OSError
    when it cannot be started."""
    popen, inside = _start(request)
    child = Child(popen, inside)
    try:
        await child._connect()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            popen.kill()
        child.close()
        raise
    return child
