"""`evalpod models`: register local model directories and build the tiny model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

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
        model_id = asyncio.run(_add(path, name, parent))
    except ModelDirError as exc:  # one line: what is wrong with the directory, and the fix
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(model_id)


async def _add(path: Path, name: str, parent: str | None) -> str:
    from evalpod.db import dispose_all, get_database
    from evalpod.registry import register_model
    from evalpod.shadow import ShadowBuildError

    try:
        async with get_database().session() as session:
            model = await register_model(session, path, name, parent_id=parent,
                                         settings=get_settings())
            model_id = model.id
    except ShadowBuildError as exc:
        await dispose_all()
        typer.echo(f"error: no trial model can be built for this model: {exc}", err=True)
        raise typer.Exit(1) from exc
    await dispose_all()
    return model_id


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
