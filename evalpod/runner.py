"""Runs service components in one event loop and stops them all cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError
from uvicorn.supervisors import Multiprocess

from evalpod.db import get_database
from evalpod.keys import Role, create_key
from evalpod.migrate import upgrade_async
from evalpod.settings import Settings, describe_invalid, get_settings

log = logging.getLogger("evalpod.runner")
Component = Callable[[asyncio.Event], Awaitable[None]]


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("arq").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # bandit's plugin loader reports optional formatters it cannot import (sarif) as errors.
    logging.getLogger("stevedore.extension").setLevel(logging.CRITICAL)


async def prepare_home(settings: Settings) -> None:
    """Home dir, migrations, and the admin key on first start (mode 0600)."""
    home = settings.home_dir
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    await upgrade_async(settings.database_dsn())
    await ensure_admin_key(settings)


async def ensure_admin_key(settings: Settings) -> Path:
    path = settings.admin_key_path
    if path.exists():
        return path
    async with get_database(settings.database_dsn()).session() as session:
        _, plaintext = await create_key(session, "default", Role.admin)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as handle:
        handle.write(plaintext + "\n")
    return path


API_SHUTDOWN_GRACE_S = 3  # seconds open requests get to finish once the API stops


class ManagedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to `run_components`, which stops all parts."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_component(
    settings: Settings,
    host: str,
    port: int,
    *,
    sock: socket.socket | None = None,
    started: asyncio.Event | None = None,
) -> Component:
    """The API server; on `sock` (already bound and listening) when given.

    `started` is set once it accepts requests (after the app's startup ran).
    """

    async def run(stop: asyncio.Event) -> None:
        from api.app import create_app

        # Open log streams (SSE) never end on their own: after the grace period uvicorn
        # cancels them, so a stop is never held up by a follower.
        config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning",
                                lifespan="on", access_log=False,
                                timeout_graceful_shutdown=API_SHUTDOWN_GRACE_S)
        server = ManagedServer(config)
        task = asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
        if started is not None:
            while not server.started and not task.done():
                await asyncio.sleep(0.02)
            if server.started:
                started.set()
        await stop.wait()
        server.should_exit = True
        await task

    return run


# Starts of API processes that may end before any process served, before the supervisor
# gives up: each process gets a second start (a fault of the moment), then the command
# fails rather than restart processes that die the same way forever.
API_START_TRIES = 2


class _ApiSupervisor(Multiprocess):
    """uvicorn's supervisor of API processes, remembering the signal that stopped it, and
    stopping when its processes keep dying before any of them served.

    uvicorn stops by itself only for a process that exits with its start-up status (3:
    the app's startup failed, the socket would not bind); one that ends any other way
    (an exception out of the app factory, a kill) it starts again, forever."""

    stopped_by: signal.Signals | None = None
    served = False
    failed_starts = 0

    def handle_int(self) -> None:
        self.stopped_by = self.stopped_by or signal.SIGINT
        super().handle_int()

    def handle_term(self) -> None:
        self.stopped_by = self.stopped_by or signal.SIGTERM
        super().handle_term()

    def keep_subprocess_alive(self) -> None:
        if not self.served:
            self.served = any(process.process.is_alive() and process.is_ready(timeout=0.2)
                              for process in self.processes)
        before = list(self.processes)
        super().keep_subprocess_alive()
        if self.served or self.should_exit.is_set():
            return
        # uvicorn replaced each process that died with a fresh one in the same slot.
        died = [old for old, new in zip(before, self.processes, strict=True) if old is not new]
        self.failed_starts += len(died)
        if died and self.failed_starts >= API_START_TRIES * self.processes_num:
            log.error("the API failed to start: %d processes ended before any served "
                      "(the last with exit status %s); stopping",
                      self.failed_starts, died[-1].exitcode)
            self.should_exit.set()


def _check_api_starts() -> bool:
    """Build the app and run its startup once in this process, as each API process will;
    False (with one line logged) when that fails, so no process is started to fail the
    same way. What the processes build is only checked, never kept."""
    from api.app import create_app

    async def start_once() -> None:
        app = create_app(get_settings())
        async with app.router.lifespan_context(app):
            pass

    try:
        asyncio.run(start_once())
    except ValidationError as exc:
        log.error("the API failed to start: invalid settings: %s", describe_invalid(exc))
        return False
    except Exception as exc:
        log.error("the API failed to start: %s: %s", type(exc).__name__,
                  " ".join(str(exc).split()))
        return False
    return True


def serve_api_workers(host: str, port: int, workers: int) -> signal.Signals | None:
    """The API alone in `workers` processes sharing one socket (uvicorn's supervisor); the
    signal that stopped them (None: they failed to start, and why is logged).

    One event loop is one core: on a many-core host a single API process saturates long
    before PostgreSQL does. Each process builds its own app, engine and Redis client.
    """
    if not _check_api_starts():
        return None
    # What uvicorn.run does for workers > 1, except that it forgets which signal it was.
    config = uvicorn.Config("evalpod.runner:api_app_factory", factory=True, host=host,
                            port=port, workers=workers, loop="uvloop", lifespan="on",
                            access_log=False, timeout_graceful_shutdown=API_SHUTDOWN_GRACE_S,
                            log_level="warning")
    supervisor = _ApiSupervisor(config, sockets=[config.bind_socket()])
    supervisor.run()
    return supervisor.stopped_by


def api_app_factory() -> Any:
    """Entry point of each API worker process."""
    from api.app import create_app

    configure_logging()
    return create_app()


def worker_component(factory: Callable[[], Any]) -> Component:
    async def run(stop: asyncio.Event) -> None:
        worker = factory()
        task = asyncio.create_task(worker.async_run())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the worker loop failed")
        await worker.close()
        if not stop.is_set():
            # The worker's loop ended by itself: end the process (run_components stops the
            # rest) so its supervisor starts a fresh one, rather than leave a process whose
            # heartbeat says alive but that takes no jobs.
            raise RuntimeError("the worker loop ended on its own")

    return run


def monitor_component(settings: Settings) -> Component:
    async def run(stop: asyncio.Event) -> None:
        from monitor.service import run_monitor

        await run_monitor(settings, stop)

    return run


async def run_components(components: list[Component]) -> signal.Signals | None:
    """Run every component until a signal or the end of one; the signal that stopped them."""
    stop = asyncio.Event()
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    tasks: list[asyncio.Task[None]] = [
        asyncio.ensure_future(component(stop)) for component in components
    ]
    await asyncio.wait([*tasks, asyncio.create_task(stop.wait())],
                                 return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = False
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("component failed: %r", result)
            failed = True
    from evalpod.db import dispose_all

    await dispose_all()
    if failed:
        raise SystemExit(1)  # a supervisor restarts what failed, not what was asked to stop
    return received[0] if received else None
