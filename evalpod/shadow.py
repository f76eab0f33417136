"""Shadow models for trial runs: each registered model's architecture and tokenizer, scaled down.

A shadow lives in `<models_dir>/shadows/<model_id>/` (a `save_pretrained` directory) with
`<model_id>.json` beside it recording which source checksum it was built from and its own
checksum. It is rebuilt whenever either no longer matches, so a re-registered model gets a
fresh shadow and a damaged one is replaced. Building imports torch, so it runs in a
subprocess of the runtime interpreter (`sandbox_images/shadow_model.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from evalpod.model_files import ModelDirError, directory_checksum, verify_model_dir
from evalpod.settings import Settings

SHADOW_SCRIPT = Path(__file__).resolve().parent.parent / "sandbox_images" / "shadow_model.py"
# Bumped when the builder changes what a shadow looks like: old shadows are rebuilt.
BUILDER_VERSION = 1
BUILD_TIMEOUT_S = 600.0
LOCK_POLL_S = 0.2
# A model id as one path component: no separators, and never "." or "..".
SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MAX_REASON_CHARS = 2000
BUILD_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
}


class ShadowBuildError(RuntimeError):
    """The model's shadow could not be built; the message says why (one paragraph)."""


class ShadowManifest(BaseModel):
    """What `<model_id>.json` records about a built shadow."""

    model_id: str
    source_checksum: str = Field(description="Checksum of the registered model it shadows.")
    checksum: str = Field(description="directory_checksum of the shadow directory.")
    builder_version: int
    architecture: str = Field(description="The transformers model class, e.g. LlamaForCausalLM.")
    changed: dict[str, Any] = Field(description="Config values scaled down from the source's.")


def runtime_python(settings: Settings) -> str:
    """The interpreter with torch/transformers: EVALPOD_RUNTIME_PYTHON, else our own."""
    return settings.runtime_python or sys.executable


def shadows_root(settings: Settings) -> Path:
    return settings.models_dir / "shadows"


def shadow_dir(settings: Settings, model_id: str) -> Path:
    """Where the shadow of `model_id` lives (whether or not it is built).

    Raises `ShadowBuildError` for an id that is not one plain path component.
    """
    if not SAFE_ID.fullmatch(model_id):
        raise ShadowBuildError(f"model id {model_id!r} cannot name a shadow directory")
    return shadows_root(settings) / model_id


def _manifest_path(settings: Settings, model_id: str) -> Path:
    return shadow_dir(settings, model_id).with_name(f"{model_id}.json")


def read_manifest(settings: Settings, model_id: str) -> ShadowManifest | None:
    try:
        raw = _manifest_path(settings, model_id).read_text(encoding="utf-8")
        return ShadowManifest.model_validate_json(raw)
    except (OSError, ValidationError):
        return None


def _current(settings: Settings, model_id: str, source_checksum: str) -> Path | None:
    """The shadow's directory if it is built from this source and intact, else None."""
    manifest = read_manifest(settings, model_id)
    path = shadow_dir(settings, model_id)
    if (manifest is None or manifest.source_checksum != source_checksum
            or manifest.builder_version != BUILDER_VERSION):
        return None
    try:
        if directory_checksum(path) != manifest.checksum:
            return None
    except (OSError, ModelDirError):
        return None
    return path


@contextlib.asynccontextmanager
async def _build_lock(settings: Settings, model_id: str) -> AsyncIterator[None]:
    """One builder per model across processes on this host (validators, CLI, `up`)."""
    root = shadow_dir(settings, model_id).parent
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / f".{model_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(LOCK_POLL_S)
        yield
    finally:
        os.close(fd)  # closing releases the lock


async def _run_builder(settings: Settings, source: Path, dest: Path) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        runtime_python(settings), "-I", str(SHADOW_SCRIPT), str(source), str(dest),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=os.environ | BUILD_ENV,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), BUILD_TIMEOUT_S)
    except TimeoutError as exc:
        process.kill()
        await process.wait()
        raise ShadowBuildError(f"building the shadow took over {BUILD_TIMEOUT_S:.0f} s") from exc
    except BaseException:  # stopped (Ctrl-C of `up`): end the build inside this event loop
        if process.returncode is None:
            process.kill()
        await asyncio.shield(process.wait())
        raise
    if process.returncode != 0:
        lines = [ln for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
        reason = lines[-1] if lines else f"exit code {process.returncode}"
        raise ShadowBuildError(reason.removeprefix("shadow: ")[:MAX_REASON_CHARS])
    try:
        summary = json.loads(stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError) as exc:
        raise ShadowBuildError("the shadow builder printed no summary") from exc
    return dict(summary)


async def ensure_shadow(
    settings: Settings, model_id: str, source: Path, source_checksum: str
) -> Path:
    """The shadow directory of `model_id`, building it first when missing or stale.

    `source` is the registered model directory and `source_checksum` its registered
    checksum. Raises `ShadowBuildError` when the architecture cannot be shadowed or the
    builder fails; a build takes seconds (transformers import plus a tiny model).
    """
    current = await asyncio.to_thread(_current, settings, model_id, source_checksum)
    if current is not None:
        return current
    async with _build_lock(settings, model_id):
        # Another process may have built it while this one waited for the lock.
        current = await asyncio.to_thread(_current, settings, model_id, source_checksum)
        if current is not None:
            return current
        return await _build(settings, model_id, source, source_checksum)


async def _build(settings: Settings, model_id: str, source: Path, source_checksum: str) -> Path:
    if not source.is_dir():
        raise ShadowBuildError(f"the model directory {source} is missing")
    dest = shadow_dir(settings, model_id)
    staging = shadows_root(settings) / f".{model_id}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        summary = await _run_builder(settings, source, staging)
        await asyncio.to_thread(verify_model_dir, staging)
        checksum = await asyncio.to_thread(directory_checksum, staging)
        if dest.exists():
            await asyncio.to_thread(shutil.rmtree, dest)
        staging.rename(dest)
    except ModelDirError as exc:
        raise ShadowBuildError(f"the built shadow is not a loadable model: {exc}") from exc
    finally:
        if staging.exists():
            await asyncio.to_thread(shutil.rmtree, staging, True)
    manifest = ShadowManifest(
        model_id=model_id, source_checksum=source_checksum, checksum=checksum,
        builder_version=BUILDER_VERSION, architecture=str(summary.get("architecture", "?")),
        changed=dict(summary.get("changed") or {}),
    )
    path = _manifest_path(settings, model_id)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
    return dest
