"""The `evalpod` command line: one Typer app, a sub-module per group of commands."""

from __future__ import annotations

import typer

from evalpod.cli import client_cmds, k8s_cmds, models_cmds, sandbox_cmds, server_cmds

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

server_cmds.register(app)
client_cmds.register(app)
sandbox_cmds.register(app)
models_cmds.register(app)
k8s_cmds.register(app)


def main() -> None:
    app()
