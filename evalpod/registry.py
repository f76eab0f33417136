"""The model registry: register local `save_pretrained` directories, build the tiny model."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evalpod import activity
from evalpod.model_files import directory_checksum, inspect_model_dir, verify_model_dir
from evalpod.orm import Model, Tenant, utcnow
from evalpod.settings import Settings
from evalpod.shadow import ensure_shadow, runtime_python

__all__ = ["TINY_MODEL_ID", "ensure_tiny_model", "model_id_for", "register_model",
           "runtime_python"]

TINY_MODEL_ID = "tiny-gpt2"
TINY_MODEL_SCRIPT = Path(__file__).resolve().parent.parent / "sandbox_images" / "tiny_model.py"


def model_id_for(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.strip()).strip("-").lower()
    if not slug:
        raise ValueError("model name must contain letters or digits")
    return slug[:128]


async def register_model(
    session: AsyncSession,
    path: Path,
    name: str,
    *,
    model_id: str | None = None,
    parent_id: str | None = None,
    settings: Settings | None = None,
    actor: str = "cli",
) -> Model:
    """Register (or re-register) a model directory after verifying it is safe to load.

    With `settings`, its shadow (the trial model, see `evalpod.shadow`) is built first, so
    an architecture that cannot be shadowed is refused here with `ShadowBuildError` rather
    than at its first trial; without, the validator builds it at the first trial.
    A new model, or new weights (checksum) for a known one, writes `model.registered` to
    every tenant's activity feed (the registry is shared), by `actor`.
    Raises `ModelDirError` for an unsafe or incomplete directory.
    """
    path = path.expanduser().resolve()
    await asyncio.to_thread(verify_model_dir, path)
    info = await asyncio.to_thread(inspect_model_dir, path)
    checksum = await asyncio.to_thread(directory_checksum, path)
    model_id = model_id or model_id_for(name)
    if settings is not None:
        await ensure_shadow(settings, model_id, path, checksum)
    model = await session.get(Model, model_id)
    changed = model is None or model.checksum != checksum
    if model is None:
        model = Model(id=model_id, name=name, storage_path=str(path), checksum=checksum,
                      stage="staging", parent_id=parent_id)
        session.add(model)
    model.name = name
    model.storage_path = str(path)
    model.checksum = checksum
    model.family = info.family
    model.parameters = info.parameters
    model.dtype = info.dtype
    model.context_length = info.context_length
    model.updated_at = utcnow()
    await session.flush()
    if changed:
        await _announce(session, model, actor)
    return model


async def _announce(session: AsyncSession, model: Model, actor: str) -> None:
    for tenant_id in await session.scalars(select(Tenant.id)):
        activity.record(session, tenant_id=tenant_id, event_type="model.registered",
                        entity_type="model", entity_id=model.id, actor=actor,
                        data={"name": model.name, "checksum": model.checksum[:12]})


async def build_tiny_model(settings: Settings, dest: Path) -> Path:
    """Build tiny-gpt2 in a subprocess: the service itself never imports torch.

    It is trained for a few seconds on the shipped examples (`--train`), so the
    quickstart's example scores above zero; the test suite builds the random one itself.
    """
    if (dest / "config.json").exists() and any(dest.glob("*.safetensors")):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        runtime_python(settings), str(TINY_MODEL_SCRIPT), str(dest), "--train",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await process.communicate()
    except BaseException:  # stopped (Ctrl-C of `up`): end the build inside this event loop
        if process.returncode is None:
            process.kill()
        await asyncio.shield(process.wait())
        raise
    if process.returncode != 0:
        raise RuntimeError(f"building tiny-gpt2 failed:\n{output.decode(errors='replace')}")
    return dest


async def ensure_tiny_model(session: AsyncSession, settings: Settings) -> Model:
    dest = settings.models_dir / TINY_MODEL_ID
    await build_tiny_model(settings, dest)
    return await register_model(session, dest, TINY_MODEL_ID, model_id=TINY_MODEL_ID,
                                settings=settings)
