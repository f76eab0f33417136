"""Server-side commands: `up`, each component alone, `db upgrade`, `keys`."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import signal
import socket
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from evalpod.cli.output import EXIT_INTERRUPTED
from evalpod.settings import Settings, get_settings

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T], *, fast_loop: bool = False) -> T:
    """Run a component's coroutine; `fast_loop` uses uvloop where it is installed."""
    loop_factory = None
    if fast_loop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coro)


def _serve_alone(name: str, components: list[Any], *, fast_loop: bool = False) -> None:
    """Run one component's `run_components` until a signal; Ctrl-C ends the command as
    `evalpod up` does: one line and exit 130 (SIGTERM, a supervisor's stop, exits 0)."""
    from evalpod.runner import run_components

    try:
        stopped_by = _run(run_components(components), fast_loop=fast_loop)
    except KeyboardInterrupt:  # Ctrl-C before run_components took the signals over
        stopped_by = signal.SIGINT
    _end_alone(name, stopped_by)


def _end_alone(name: str, stopped_by: signal.Signals | None) -> None:
    """After a component alone stopped: Ctrl-C is one line and exit 130, as a shell
    expects of an interrupted command; anything else is a normal end."""
    if stopped_by == signal.SIGINT:
        typer.echo(f"evalpod {name} stopped (interrupted)")
        raise typer.Exit(EXIT_INTERRUPTED)


def up(
    host: Annotated[
        str, typer.Option(help="Address the API listens on.", envvar="EVALPOD_HOST")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(help="Port the API listens on.", envvar="EVALPOD_PORT", min=1, max=65535),
    ] = 8000,
) -> None:
    """Everything on one machine: API + validator + orchestrator + monitor."""
    from evalpod.embedded_redis import EmbeddedRedis
    from evalpod.runner import configure_logging

    # First, before anything starts or is announced: a busy port is a one-line refusal.
    listener = _claim_port(host, port)
    configure_logging()
    # One person's terminal: not a line per request or per migration step (`evalpod api`
    # keeps its access log for operators).
    for noisy in ("evalpod.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The warm sandbox pool (orchestrator/local/pool.py) is on unless the operator set it.
    os.environ.setdefault("EVALPOD_WARM_POOL_SIZE", "1")
    get_settings.cache_clear()
    settings = get_settings()
    embedded = None
    stopped_by: signal.Signals | None = None
    try:
        if settings.redis_url is None:
            embedded = EmbeddedRedis(settings.home_dir / "redis")
            os.environ["EVALPOD_REDIS_URL"] = embedded.start()
            get_settings.cache_clear()
            settings = get_settings()
            typer.echo(f"embedded Redis on {embedded.url}")
        stopped_by = _run(_up(settings, host, port, listener))
    except KeyboardInterrupt:  # Ctrl-C before the components took over the signals
        stopped_by = signal.SIGINT
    finally:
        listener.close()
        _up_file(settings).unlink(missing_ok=True)
        if embedded is not None:
            embedded.stop()
    # Ctrl-C: one line and 130, as a shell expects of an interrupted command (SIGTERM, a
    # supervisor's stop, is a normal end).
    if stopped_by == signal.SIGINT:
        typer.echo("evalpod stopped (interrupted)")
        raise typer.Exit(EXIT_INTERRUPTED)
    typer.echo("evalpod stopped")


def _claim_port(host: str, port: int) -> socket.socket:
    """A listening socket on host:port for the API, or a one-line error and exit 1.

    Bound here and handed to the server, so nothing else can take the port between the
    check and the start (SO_REUSEADDR as uvicorn sets it: TIME_WAIT is not "busy").
    """
    from evalpod.cli.output import fail

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {port} on {host} is already in use by another program;"
                f" choose another with --port P or EVALPOD_PORT=P"
            )
        fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    return sock


def _up_file(settings: Settings) -> Path:
    """Where `evalpod up` says which process serves which URL (scripts check it is theirs)."""
    return settings.home_dir / "up.json"


async def _up(settings: Settings, host: str, port: int, listener: socket.socket
              ) -> signal.Signals | None:
    """Prepare, run every component; the signal that stopped them (None: one ended)."""
    # Until the components take the signals over: Ctrl-C (or SIGTERM) while the database and
    # the tiny model are prepared ends the start, quietly.
    loop = asyncio.get_running_loop()
    starting = asyncio.current_task()
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        if starting is not None:
            starting.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await _prepare(settings)
    except BaseException:
        if not received:
            raise
        if starting is not None:
            starting.uncancel()
        return received[0]
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    return await _serve(settings, host, port, listener)


async def _prepare(settings: Settings) -> None:
    from evalpod.db import get_database
    from evalpod.registry import ensure_tiny_model
    from evalpod.runner import prepare_home

    await prepare_home(settings)
    typer.echo("preparing the tiny-gpt2 model …")
    async with get_database(settings.database_dsn()).session() as session:
        await ensure_tiny_model(session, settings)


async def _serve(settings: Settings, host: str, port: int, listener: socket.socket
                 ) -> signal.Signals | None:
    from evalpod.datasets.checking import create_worker as dataset_worker
    from evalpod.runner import (
        api_component,
        monitor_component,
        run_components,
        worker_component,
    )
    from orchestrator.worker import create_worker as orchestrator_worker
    from validator.worker import create_worker as validator_worker

    started = asyncio.Event()
    components = asyncio.create_task(run_components([
        api_component(settings, host, port, sock=listener, started=started),
        worker_component(validator_worker),
        worker_component(orchestrator_worker),
        worker_component(dataset_worker),
        monitor_component(settings),
    ]))
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({components, ready}, return_when=asyncio.FIRST_COMPLETED)
    if started.is_set():
        url = f"http://{host}:{port}"
        up_file = _up_file(settings)
        up_file.write_text(json.dumps({"pid": os.getpid(), "url": url}) + "\n", encoding="utf-8")
        typer.echo(f"evalpod is up: {url}  (docs: {url}/api/docs; pid and url in {up_file})")
        typer.echo(f"admin API key: {settings.admin_key_path}")
        typer.echo(f"database: {_redacted(settings.database_dsn())}   backend: {settings.backend}")
    ready.cancel()
    return await components


def _redacted(dsn: str) -> str:
    scheme, sep, rest = dsn.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int | None, typer.Option(
        min=1, help="API processes sharing the port; default EVALPOD_API_WORKERS (1).")] = None,
) -> None:
    """The API alone."""
    from evalpod.runner import configure_logging, serve_api_workers

    settings = get_settings()
    _require_redis(settings, "api")
    # A busy port is a one-line refusal, as for `evalpod up`, before anything starts.
    listener = _claim_port(host, port)
    configure_logging()
    count = workers or settings.api_workers
    if count > 1:
        listener.close()  # uvicorn's supervisor binds the port itself (SO_REUSEADDR)
        try:
            stopped_by = serve_api_workers(host, port, count)
        except KeyboardInterrupt:  # Ctrl-C before uvicorn's supervisor took the signals over
            stopped_by = signal.SIGINT
        if stopped_by is None:  # the processes failed to start: uvicorn has said why
            raise typer.Exit(1)
        _end_alone("api", stopped_by)
        return
    try:
        # The API does no subprocess work, so it can take uvloop's faster event loop.
        stopped_by = _run(_api_alone(settings, host, port, listener), fast_loop=True)
    except KeyboardInterrupt:  # Ctrl-C before run_components took the signals over
        stopped_by = signal.SIGINT
    finally:
        listener.close()
    _end_alone("api", stopped_by)


async def _api_alone(settings: Settings, host: str, port: int, listener: socket.socket
                     ) -> signal.Signals | None:
    """The API on `listener` until a signal; says so once it serves."""
    from evalpod.runner import api_component, run_components

    started = asyncio.Event()
    components = asyncio.create_task(run_components([
        api_component(settings, host, port, sock=listener, started=started)]))
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({components, ready}, return_when=asyncio.FIRST_COMPLETED)
    if started.is_set():
        url = f"http://{host}:{port}"
        typer.echo(f"evalpod api serving {url}  (docs: {url}/api/docs)")
    ready.cancel()
    return await components


def _require_redis(settings: Settings, name: str) -> None:
    """A service alone needs the Redis the others share: one line when none is set."""
    from evalpod.cli.output import fail

    if settings.redis_url is None:
        fail(f"EVALPOD_REDIS_URL is not set: evalpod {name} needs the Redis the other "
             "components use (e.g. EVALPOD_REDIS_URL=redis://127.0.0.1:6379/0); "
             "`evalpod up` runs everything with an embedded Redis")


def validator() -> None:
    """The validator worker alone."""
    from evalpod.runner import configure_logging, worker_component
    from validator.worker import create_worker

    _require_redis(get_settings(), "validator")
    configure_logging()
    _serve_alone("validator", [worker_component(create_worker)])


def orchestrator() -> None:
    """The orchestrator worker alone (with the dataset checker: both run sandboxes)."""
    from evalpod.datasets.checking import create_worker as dataset_worker
    from evalpod.runner import configure_logging, worker_component
    from orchestrator.worker import create_worker

    _require_redis(get_settings(), "orchestrator")
    configure_logging()
    _serve_alone("orchestrator",
                 [worker_component(create_worker), worker_component(dataset_worker)])


def monitor() -> None:
    """The monitor loop alone."""
    from evalpod.runner import configure_logging, monitor_component

    _require_redis(get_settings(), "monitor")
    configure_logging()
    _serve_alone("monitor", [monitor_component(get_settings())])


db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Run Alembic migrations to head."""
    from evalpod.migrate import upgrade

    settings = get_settings()
    if settings.database_url is None:
        settings.home_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_dsn(), revision)
    typer.echo(f"database at {revision}")


keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(metavar="NAME", help="Tenant name (created if new).")],
    role: Annotated[str, typer.Option(metavar="ROLE", help="submitter or admin")] = "submitter",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print a new API key once (only its hash is stored), with its key and tenant ids.

    The key alone goes to stdout (`KEY=$(evalpod keys create --tenant t)` works); ids, and
    the callback signing secret of a tenant created now (shown this once), go to stderr.
    """
    from evalpod.keys import Role

    try:
        chosen = Role(role)
    except ValueError as exc:
        raise typer.BadParameter("role must be submitter or admin") from exc
    created = asyncio.run(_create_key(tenant, chosen))
    if as_json:
        typer.echo(json.dumps(created, indent=2, sort_keys=True))
        return
    typer.echo(created["api_key"])
    typer.echo(f"key id {created['key_id']}  tenant {created['tenant_name']} "
               f"({created['tenant_id']})  role {created['role']}", err=True)
    if created["callback_secret"]:
        typer.echo(f"new tenant: callback signing secret (shown once): "
                   f"{created['callback_secret']}", err=True)


async def _create_key(tenant: str, role: object) -> dict[str, str | None]:
    from evalpod.db import dispose_all, get_database
    from evalpod.keys import Role, create_key_for_tenant

    assert isinstance(role, Role)
    async with get_database().session() as session:
        created = await create_key_for_tenant(session, tenant, role)
        out = {"api_key": created.plaintext, "key_id": created.key.id,
               "tenant_id": created.tenant.id, "tenant_name": created.tenant.name,
               "role": created.key.role, "callback_secret": created.new_tenant_secret}
    await dispose_all()
    return out


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option(metavar="NAME", show_default=False,
                                               help="Only this tenant's keys.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """Every API key in the database: key id, tenant, role, created, revoked (never secrets)."""
    from evalpod.cli.output import fail, print_table

    rows = asyncio.run(_list_keys(tenant))
    if rows is None:
        fail(f"no tenant named {tenant!r}; `evalpod keys list` shows every tenant's keys")
    if as_json:
        typer.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    print_table(["KEY ID", "TENANT ID", "TENANT", "ROLE", "PREFIX", "CREATED", "REVOKED"],
                [[r["key_id"] or "", r["tenant_id"] or "", r["tenant_name"] or "",
                  r["role"] or "", r["prefix"] or "", r["created_at"] or "",
                  r["revoked_at"] or ""] for r in rows])


async def _list_keys(tenant: str | None) -> list[dict[str, str | None]] | None:
    from sqlalchemy import select

    from evalpod.db import dispose_all, get_database
    from evalpod.keys import list_keys
    from evalpod.orm import Tenant

    def when(value: datetime | None) -> str | None:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    async with get_database().session() as session:
        tenant_id = None
        if tenant is not None:
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.name == tenant))
            if tenant_id is None:
                await dispose_all()
                return None
        rows = [{"key_id": key.id, "tenant_id": key.tenant_id, "tenant_name": name,
                 "role": key.role, "prefix": key.prefix, "created_at": when(key.created_at),
                 "revoked_at": when(key.revoked_at)}
                for key, name in await list_keys(session, tenant_id)]
    await dispose_all()
    return rows


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(metavar="KEY_ID",
                                                      help="From `evalpod keys list`.")]) -> None:
    """Revoke a key by its id."""
    if not asyncio.run(_revoke(key_id)):
        from evalpod.cli.output import fail

        fail(f"no live key {key_id}; `evalpod keys list` shows key ids")
    typer.echo(f"revoked {key_id}")


async def _revoke(key_id: str) -> bool:
    from evalpod.db import dispose_all, get_database
    from evalpod.keys import revoke_key

    async with get_database().session() as session:
        done = await revoke_key(session, key_id)
    await dispose_all()
    if done:
        await _announce_revocation()
    return done


async def _announce_revocation() -> None:
    """Make running API replicas drop their cached keys now, not when the cache expires."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from evalpod.keys import bump_auth_epoch

    settings = get_settings()
    if settings.redis_url is None:
        return  # `evalpod up`'s embedded Redis: its API notices within auth_cache_ttl_s
    client = Redis.from_url(settings.redis_dsn())
    try:
        await bump_auth_epoch(client)
    except RedisError as exc:
        typer.echo(f"warning: Redis unreachable ({exc}); running APIs may accept the key for "
                   f"up to {settings.auth_cache_ttl_s:g} s", err=True)
    finally:
        await client.aclose()


# The commands that run a part of the service: they read EVALPOD_ settings.
SERVICE_COMMANDS = frozenset({"up", "api", "validator", "orchestrator", "monitor", "db",
                              "keys"})


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(api)
    app.command()(validator)
    app.command()(orchestrator)
    app.command()(monitor)
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")
