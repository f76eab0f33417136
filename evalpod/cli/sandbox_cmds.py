"""CLI commands for operators testing isolation: `evalpod sandbox run` and `evalpod doctor`."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import typer

from evalpod.cli.output import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from orchestrator.sandbox import ResourceLimits, SandboxJob

sandbox_app = typer.Typer(no_args_is_help=True, help="Run scripts straight in the sandbox.")


class ModelChoice(NamedTuple):
    """The model a CLI run loads: a registered model's directory, or its shadow."""

    model_id: str
    path: Path
    shadow: bool


class ModelUnavailable(Exception):
    """The named model is not registered, its files changed, or it has no shadow."""


async def resolve_model(model_id: str, shadow: bool) -> ModelChoice:
    """The registered model `model_id` (its files checked against the registered
    checksum, as before a real run) or, with `shadow`, its shadow (built if missing).

    Raises `ModelUnavailable` with a one-line reason.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from evalpod.db import dispose_all, get_database
    from evalpod.model_files import directory_checksum
    from evalpod.orm import Model
    from evalpod.settings import get_settings
    from evalpod.shadow import ShadowBuildError, ensure_shadow

    try:
        async with get_database().session() as session:
            row = await session.get(Model, model_id)
            found = None if row is None else (Path(row.storage_path), row.checksum)
    except SQLAlchemyError as exc:  # no registry yet (a fresh EVALPOD_HOME), or unreachable
        cause = type(getattr(exc, "orig", None) or exc).__name__
        raise ModelUnavailable(
            f"cannot read the model registry ({cause}); register {model_id!r} first "
            "(evalpod db upgrade, then evalpod models add)") from exc
    finally:
        await dispose_all()
    if found is None:
        raise ModelUnavailable(f"model {model_id!r} is not registered (evalpod models list)")
    path, checksum = found
    if shadow:
        try:
            return ModelChoice(model_id, await ensure_shadow(get_settings(), model_id, path,
                                                              checksum), True)
        except ShadowBuildError as exc:
            raise ModelUnavailable(f"no shadow of {model_id!r}: {exc}") from exc
    try:
        actual = await asyncio.to_thread(directory_checksum, path)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"model files of {model_id!r} unreadable: {exc}") from exc
    if actual != checksum:
        raise ModelUnavailable(f"model {model_id!r} changed on disk since it was registered "
                               "(register it again with evalpod models add)")
    return ModelChoice(model_id, path, False)


def cli_job(
    script: str, limits: ResourceLimits, guard: bool, model: ModelChoice | None
) -> SandboxJob:
    """The job of one `evalpod sandbox run`: no model (the stub) unless one is named."""
    from orchestrator.sandbox import SandboxJob

    job_id = f"cli-{uuid.uuid4().hex[:12]}"
    if model is None:
        return SandboxJob(job_id=job_id, script=script, limits=limits, guard=guard)
    return SandboxJob(job_id=job_id, script=script, limits=limits, guard=guard,
                      model_id=model.model_id, model_path=model.path, shadow=model.shadow)


async def _run_script(
    script: str, timeout: float, memory_mb: int, disk_mb: int, gpus: int, live: bool,
    guard: bool = True, model: ModelChoice | None = None,
) -> dict[str, object]:
    from orchestrator.sandbox import ResourceLimits, get_backend

    indices = _gpu_indices(gpus)
    limits = ResourceLimits(
        timeout_s=timeout, memory_mb=memory_mb, disk_mb=disk_mb, gpu_indices=indices
    )
    job = cli_job(script, limits, guard, model)
    cancel = asyncio.Event()
    stopped_by: list[signal.Signals] = []

    def stop(signum: signal.Signals) -> None:
        stopped_by.append(signum)
        cancel.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)

    async def on_line(line: str) -> None:
        if live:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    outcome = await get_backend(one_shot=True).run(job, on_line, cancel)  # no warm pool
    return {
        "status": outcome.status,
        "violation": outcome.violation.model_dump(mode="json") if outcome.violation else None,
        "exit_code": outcome.exit_code,
        "duration_s": outcome.duration_s,  # the script's own time (from the model loaded)
        "startup_s": outcome.startup_s,  # launch to the model loaded; None without a model
        "stdout_tail": outcome.stdout_tail,
        "result": outcome.result,
        "error": outcome.error,
        "interrupted": bool(stopped_by) and stopped_by[0] == signal.SIGINT,
    }


def _gpu_indices(count: int) -> tuple[int, ...]:
    """The first `count` host GPUs (EVALPOD_GPU_DEVICES, else nvidia-smi)."""
    if count <= 0:
        return ()
    from evalpod.settings import get_settings
    from orchestrator.gpus import detect_gpus

    available = detect_gpus(get_settings())
    if len(available) < count:
        raise typer.BadParameter(f"{count} GPU(s) asked, this host has {len(available)}")
    return tuple(available[:count])


@sandbox_app.command("run")
def run(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Script to run."),
    timeout: float = typer.Option(60.0, "--timeout", help="Wall-clock limit in seconds."),
    memory_mb: int = typer.Option(2048, "--memory-mb", help="Memory limit in MiB."),
    disk_mb: int = typer.Option(512, "--disk-mb", help="Size of the writable work dir."),
    gpus: int = typer.Option(0, "--gpus", help="GPUs to assign (from EVALPOD_GPU_DEVICES)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, no live log."),
    no_guard: bool = typer.Option(
        False, "--no-guard",
        help="Leave the runtime guard unarmed, to test the sandbox's own layers alone."),
    model_id: str | None = typer.Option(
        None, "--model", help="A registered model to load (its checksum is checked first)."),
    shadow: bool = typer.Option(
        False, "--shadow", help="Load --model's shadow instead: what a validation trial sees."),
) -> None:
    """Run FILE in the configured sandbox; no static analysis. With --model the script gets
    that registered model (or, with --shadow, its shadow, as in a validation trial);
    without, a torch-free stub stands in, for runs where no model is involved."""
    from orchestrator.sandbox import SandboxUnavailable

    if shadow and model_id is None:
        raise typer.BadParameter("--shadow needs --model", param_hint="--shadow")

    async def go() -> dict[str, object]:
        model = None if model_id is None else await resolve_model(model_id, shadow)
        return await _run_script(
            file.read_text(encoding="utf-8"), timeout, memory_mb, disk_mb, gpus, not as_json,
            guard=not no_guard, model=model)

    try:
        report = asyncio.run(go())
    except ModelUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except SandboxUnavailable as exc:
        typer.echo(f"sandbox unavailable: {exc}", err=True)
        raise typer.Exit(3) from exc
    # Ctrl-C: the job was stopped (the sandbox killed it), then one line and 130, as every
    # long-running command does.
    interrupted = report.pop("interrupted", False)
    if as_json:
        typer.echo(json.dumps(report))
    else:
        from evalpod.cli.output import one_line, violation_line

        typer.echo(f"status: {report['status']}", err=True)
        violation = report["violation"]
        if isinstance(violation, dict):
            line = violation.get("line")
            typer.echo(violation_line(str(violation.get("kind")), str(violation.get("detail")),
                                      line if isinstance(line, int) else None), err=True)
        if report["error"]:
            typer.echo(f"error: {one_line(str(report['error']))}", err=True)
        if report["result"] is not None:
            typer.echo(json.dumps(report["result"], indent=2))
    if interrupted:
        typer.echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(0 if report["status"] == "succeeded" else 1)


def doctor(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Which isolation features work on this host, and whether a real job runs."""
    from orchestrator.local.backend import LocalBackend

    report = asyncio.run(LocalBackend.from_settings().check_ready())
    if as_json:
        typer.echo(json.dumps({**report.model_dump(mode="json"), "ok": report.ok}))
    else:
        typer.echo(f"bwrap: {report.bwrap_path or 'not found'} ({report.bwrap_version or '-'})")
        for feature in report.features:
            mark = "ok  " if feature.ok else ("FAIL" if feature.required else "no  ")
            need = "required" if feature.required else "optional"
            typer.echo(f"  [{mark}] {feature.name:<18} {need:<9} {feature.detail}")
        typer.echo("sandbox: " + ("ready" if report.ok else "WEAK: " + ", ".join(report.missing())))
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(sandbox_app, name="sandbox")
    app.command("doctor")(doctor)
