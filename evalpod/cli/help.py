"""Plain `--help`: arguments as `FILE` / `[FILE]` in the usage line, no `<type>` labels.

Typer prints required arguments as `{file}` and a `<type>` after every parameter that has
no metavar; people read `FILE` and the option's own metavar (`--timeout SECONDS`) better.
An option without one shows its name (`--memory-mb MEMORY_MB`); a flag shows nothing.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperOption


def _no_type(ctx: Any = None) -> None:
    return None


class PlainHelpCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        for param in params:
            if isinstance(param, TyperArgument):
                param.display_type_rich = _no_type  # type: ignore[method-assign]
                param.metavar = (param.metavar or param.name or "").strip("[]").upper()
            elif isinstance(param, TyperOption) and param.metavar is None:
                if param.is_flag or param.count:
                    param.display_type_rich = _no_type  # type: ignore[method-assign]
                else:
                    param.metavar = (param.name or "value").upper()
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = (param.metavar or param.name or "").strip("[]").upper()
                name += "..." if param.nargs != 1 else ""
                pieces.append(name if param.required else f"[{name}]")
        return pieces


def use_plain_help(app: typer.Typer) -> None:
    """Give every command of `app` (and of its sub-apps) plain help, unless it chose a class."""
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):
            command.cls = PlainHelpCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            use_plain_help(group.typer_instance)
