"""The `evalpod` command line: one Typer app, a sub-module per group of commands.

Shell completion: `evalpod --install-completion` (bash, zsh, fish, PowerShell).
"""

from __future__ import annotations

import typer

from evalpod.cli import (
    client_cmds,
    dataset_cmds,
    k8s_cmds,
    models_cmds,
    sandbox_cmds,
    server_cmds,
)
from evalpod.cli.help import use_plain_help

app = typer.Typer(no_args_is_help=True, help=__doc__, rich_markup_mode=None,
                  pretty_exceptions_enable=False, context_settings={"max_content_width": 100})

server_cmds.register(app)
client_cmds.register(app)
sandbox_cmds.register(app)
models_cmds.register(app)
k8s_cmds.register(app)
dataset_cmds.register(app)
use_plain_help(app)


def main() -> None:
    app(prog_name="evalpod")
