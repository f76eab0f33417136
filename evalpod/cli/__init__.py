"""The `evalpod` command line: one Typer app, a sub-module per group of commands.

Shell completion: `evalpod --install-completion` (bash, zsh, fish, PowerShell).
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from evalpod.cli import (
    client_cmds,
    dataset_cmds,
    k8s_cmds,
    models_cmds,
    sandbox_cmds,
    server_cmds,
)
from evalpod.cli.help import use_plain_help
from evalpod.settings import describe_invalid, get_settings

HELP = """Run untrusted evaluation scripts against models, in sandboxes.

Start on one machine with `evalpod up`, then `evalpod submit FILE --model tiny-gpt2
--follow` in another shell (it finds the key `evalpod up` wrote in ./.evalpod). Elsewhere,
set EVALPOD_URL and EVALPOD_API_KEY. Read commands take --json.

Shell completion: `evalpod --install-completion` (bash, zsh, fish, PowerShell).
"""

app = typer.Typer(no_args_is_help=True, help=HELP, rich_markup_mode=None,
                  pretty_exceptions_enable=False, context_settings={"max_content_width": 100})

server_cmds.register(app)


@app.callback()
def _check_settings(ctx: typer.Context) -> None:
    # A service reads its settings in each of its components, deep in a task; read them
    # once here so that a bad value ends the command at once, in one line (`main`).
    if ctx.invoked_subcommand in server_cmds.SERVICE_COMMANDS and not {
            "--help", "-h"} & set(sys.argv):
        get_settings()


client_cmds.register(app)
sandbox_cmds.register(app)
models_cmds.register(app)
k8s_cmds.register(app)
dataset_cmds.register(app)
use_plain_help(app)


def main() -> None:
    try:
        app(prog_name="evalpod")
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        typer.echo(f"evalpod: invalid settings: {describe_invalid(exc)}", err=True)
        raise SystemExit(1) from None
