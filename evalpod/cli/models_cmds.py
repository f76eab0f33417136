"""`evalpod models`: register local model directories and build the tiny model."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console

from evalpod.display import neutralise
from evalpod.settings import get_settings

models_app = typer.Typer(help="The model registry.", no_args_is_help=True)


@models_app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="A save_pretrained directory.")],
    name: Annotated[str, typer.Option("--name", help="Model name; its id is derived from it.")],
    parent: Annotated[str | None, typer.Option(help="Parent model id (lineage).")] = None,
) -> None:
    """Register a local save_pretrained directory (safetensors only) and build its shadow."""
    from evalpod.model_files import ModelDirError

    try:
        with _working(f"registering {name}: checking its files and building its trial "
                      "model (the shadow)"):
            model = asyncio.run(_add(path, name, parent))
    except ModelDirError as exc:  # one line: what is wrong with the directory, and the fix
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(registered_line(model, path))


class Registered(BaseModel):
    """What `models add` says about the model it registered."""

    id: str
    parameters: int | None = None
    family: str | None = None


def registered_line(model: Registered, path: Path) -> str:
    """"registered model ID (ARCHITECTURE, 0.1M parameters); evaluate it: ..."."""
    what = [w for w in (_architecture(path) or model.family,
                        _parameter_count(model.parameters)) if w]
    about = f" ({', '.join(what)})" if what else ""
    return neutralise(f"registered model {model.id}{about}; evaluate it: evalpod submit "
                      f"SCRIPT --model {model.id}")


def _architecture(path: Path) -> str | None:
    """config.json's first `architectures` entry (the class `from_pretrained` builds)."""
    try:
        config = json.loads((path.expanduser() / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    names = config.get("architectures") if isinstance(config, dict) else None
    return names[0] if isinstance(names, list) and names and isinstance(names[0], str) \
        else None


def _parameter_count(count: int | None) -> str | None:
    """0.1M parameters, 7.2B parameters."""
    if not count:
        return None
    if count >= 1_000_000_000:
        return f"{count / 1e9:.1f}B parameters"
    return f"{count / 1e6:.1f}M parameters"


@contextlib.contextmanager
def _working(what: str) -> Iterator[None]:
    """`what` on stderr while the block runs (a spinner on a terminal), then its time."""
    started = time.monotonic()
    console = Console(stderr=True)
    if console.is_terminal:
        with console.status(f"{what} ..."):
            yield
    else:
        typer.echo(f"-- {what} ...", err=True)
        yield
    typer.echo(f"-- done in {time.monotonic() - started:.1f} s", err=True)


async def _add(path: Path, name: str, parent: str | None) -> Registered:
    from evalpod.db import dispose_all, get_database
    from evalpod.registry import register_model
    from evalpod.shadow import ShadowBuildError

    try:
        async with get_database().session() as session:
            model = await register_model(session, path, name, parent_id=parent,
                                         settings=get_settings())
            registered = Registered(id=model.id, parameters=model.parameters,
                                    family=model.family)
    except ShadowBuildError as exc:
        await dispose_all()
        typer.echo(f"error: no trial model can be built for this model: {exc}", err=True)
        raise typer.Exit(1) from exc
    await dispose_all()
    return registered


@models_app.command("create-tiny")
def create_tiny() -> None:
    """Build and register the built-in tiny-gpt2."""
    typer.echo(asyncio.run(_create_tiny()))


async def _create_tiny() -> str:
    from evalpod.db import dispose_all, get_database
    from evalpod.registry import ensure_tiny_model

    settings = get_settings()
    async with get_database().session() as session:
        model = await ensure_tiny_model(session, settings)
        model_id = f"{model.id} at {model.storage_path}"
    await dispose_all()
    return model_id


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
