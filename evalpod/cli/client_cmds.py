"""Client commands: `submit`, `status`, `logs`, `cancel` (they talk to the HTTP API)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from evalpod.client import Client, ClientError

# httpx is imported only by the commands that talk to the API: `evalpod sandbox run` and the
# server commands start faster without it.
RAN = {"executing", "succeeded", "failed", "killed"}


def _fail(error: ClientError) -> None:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(2)


def _print_outcome(record: dict[str, Any]) -> None:
    status = record["status"]
    typer.echo(f"== {record['evaluation_id']}: {status}")
    if record.get("result") is not None:
        typer.echo(json.dumps(record["result"], indent=2, sort_keys=True))
    if record.get("violation"):
        typer.echo(f"violation: {record['violation']['kind']}: {record['violation']['detail']}")
    if record.get("error") and status != "succeeded":
        typer.echo(f"error: {record['error']}")
    for finding in record.get("findings") or []:
        where = f"line {finding['line']}: " if finding.get("line") else ""
        typer.echo(f"  [{finding['severity']}] {finding['rule']} {where}{finding['message']}")


def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    model: Annotated[str, typer.Option("--model", help="Registered model id.")],
    follow: Annotated[bool, typer.Option(help="Stream logs; exit 0 only on success.")] = False,
    timeout: Annotated[int, typer.Option(help="Run timeout in seconds.")] = 300,
    gpus: Annotated[int, typer.Option(help="GPUs to assign.")] = 0,
    memory_mb: Annotated[int, typer.Option(help="Memory limit in MiB.")] = 4096,
    priority: int = 0,
) -> None:
    """Submit a script; with --follow, stream it through every stage."""
    from evalpod.client import Client, ClientError

    body = {"model_id": model, "script": file.read_text(encoding="utf-8"),
            "priority": priority,
            "config": {"timeout_s": timeout, "gpus": gpus, "memory_mb": memory_mb}}
    try:
        client = Client()
        accepted = client.call("POST", "/evaluations", json=body)
    except ClientError as exc:
        _fail(exc)
        return
    evaluation_id = accepted["evaluation_id"]
    typer.echo(f"submitted {evaluation_id} ({accepted['status']}, "
               f"queue position {accepted['queue_position']})")
    if not follow:
        typer.echo(evaluation_id)
        return
    raise typer.Exit(_follow(client, evaluation_id))


def _follow(client: Client, evaluation_id: str) -> int:
    from evalpod.client import TERMINAL
    from evalpod.logs.events import parse_log_data, render

    status, shown = "", ""
    while status != "executing" and status not in TERMINAL:
        status = str(client.call("GET", f"/evaluations/{evaluation_id}/status")["status"])
        if status != shown:
            typer.echo(f"-- {status}")
            shown = status
        time.sleep(0.1)
    if status in RAN:
        for event in client.follow_logs(evaluation_id):
            if event.event == "log":
                typer.echo(render(parse_log_data(event.data)))
    record = client.call("GET", f"/evaluations/{evaluation_id}")
    _print_outcome(record)
    return 0 if record["status"] == "succeeded" else 1


def status(evaluation_id: str, full: bool = False) -> None:
    """Print an evaluation's status (--full for the whole record)."""
    from evalpod.client import Client, ClientError

    try:
        client = Client()
        if full:
            typer.echo(json.dumps(client.call("GET", f"/evaluations/{evaluation_id}"), indent=2))
        else:
            _print_outcome(client.call("GET", f"/evaluations/{evaluation_id}"))
    except ClientError as exc:
        _fail(exc)


def logs(evaluation_id: str, follow: bool = False) -> None:
    """Print an evaluation's log; --follow waits for new lines until it ends."""
    from evalpod.client import Client, ClientError
    from evalpod.logs.events import parse_log_data, render

    try:
        client = Client()
        for event in client.follow_logs(evaluation_id, follow=follow):
            if event.event == "log":
                typer.echo(render(parse_log_data(event.data)))
            elif event.event == "end":
                typer.echo(f"-- {event.data}")
    except ClientError as exc:
        _fail(exc)


def cancel(evaluation_id: str) -> None:
    """Cancel an evaluation (idempotent)."""
    from evalpod.client import Client, ClientError

    try:
        body = Client().call("POST", f"/evaluations/{evaluation_id}/cancel")
    except ClientError as exc:
        _fail(exc)
        return
    typer.echo(f"{body['evaluation_id']}: {body['status']}")


def register(app: typer.Typer) -> None:
    app.command()(submit)
    app.command()(status)
    app.command()(logs)
    app.command()(cancel)
