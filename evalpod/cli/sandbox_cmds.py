"""CLI commands for operators testing isolation: `evalpod sandbox run` and `evalpod doctor`."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from pathlib import Path

import typer

sandbox_app = typer.Typer(no_args_is_help=True, help="Run scripts straight in the sandbox.")


async def _run_script(
    script: str, timeout: float, memory_mb: int, disk_mb: int, gpus: int, live: bool
) -> dict[str, object]:
    from orchestrator.sandbox import ResourceLimits, SandboxJob, get_backend

    indices = _gpu_indices(gpus)
    limits = ResourceLimits(
        timeout_s=timeout, memory_mb=memory_mb, disk_mb=disk_mb, gpu_indices=indices
    )
    job = SandboxJob(job_id=f"cli-{uuid.uuid4().hex[:12]}", script=script, limits=limits)
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, cancel.set)

    async def on_line(line: str) -> None:
        if live:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    outcome = await get_backend().run(job, on_line, cancel)
    return {
        "status": outcome.status,
        "violation": outcome.violation.model_dump(mode="json") if outcome.violation else None,
        "exit_code": outcome.exit_code,
        "duration_s": outcome.duration_s,
        "stdout_tail": outcome.stdout_tail,
        "result": outcome.result,
        "error": outcome.error,
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
) -> None:
    """Run FILE in the configured sandbox with the stub model; no static analysis."""
    from orchestrator.sandbox import SandboxUnavailable

    try:
        report = asyncio.run(
            _run_script(
                file.read_text(encoding="utf-8"), timeout, memory_mb, disk_mb, gpus, not as_json
            )
        )
    except SandboxUnavailable as exc:
        typer.echo(f"sandbox unavailable: {exc}", err=True)
        raise typer.Exit(3) from exc
    if as_json:
        typer.echo(json.dumps(report))
    else:
        violation = report["violation"]
        typer.echo(
            f"status: {report['status']}" + (f" ({violation})" if violation else ""), err=True
        )
        if report["error"]:
            typer.echo(f"error: {report['error']}", err=True)
        if report["result"] is not None:
            typer.echo(json.dumps(report["result"], indent=2))
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
