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

HELP = """Run untrusted evaluation scripts against models, in sandboxes.

Start on one machine with `evalpod up`, then `evalpod submit FILE --model tiny-gpt2
--follow` in another shell (it finds the key `evalpod up` wrote in ./.evalpod). Elsewhere,
set EVALPOD_URL and EVALPOD_API_KEY. Read commands take --json.

Shell completion: `evalpod --install-completion` (bash, zsh, fish, PowerShell).
"""

app = typer.Typer(no_args_is_help=True, help=HELP, rich_markup_mode=None,
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
