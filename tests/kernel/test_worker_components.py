"""Workers take their sandbox backend and GPUs from the component that registered them
(`orchestrator.components`); a worker that runs no sandbox starts without any."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evalpod import workers
from evalpod.settings import Settings
from evalpod.workers import build_worker, registered_components, status_key


async def _noop(_ctx: dict[str, Any], _evaluation_id: str) -> str:
    return "ok"


async def test_the_orchestrator_registers_its_backend_and_gpus() -> None:
    from orchestrator.components import COMPONENTS
    from orchestrator.gpus import GpuAllocator
    from orchestrator.local.backend import LocalBackend

    assert registered_components() is COMPONENTS
    settings = Settings(backend="local", gpu_devices="")
    assert isinstance(COMPONENTS.backend(settings), LocalBackend)
    assert isinstance(COMPONENTS.gpus(settings), GpuAllocator)


async def test_a_worker_that_runs_no_sandbox_starts_without_components(
    redis_client: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The callback worker runs in the monitor's process, which imports no orchestrator."""
    monkeypatch.setattr(workers, "_registered", None)
    worker = build_worker("callbacks", _noop, "evalpod:queue:test-no-components", 1,
                          job_timeout_s=5, settings=Settings(), reconcile=False)
    ctx: dict[str, Any] = {"redis": redis_client}
    assert worker.on_startup is not None and worker.on_shutdown is not None
    await worker.on_startup(ctx)
    try:
        state = ctx["state"]
        with pytest.raises(RuntimeError, match=r"orchestrator\.components"):
            _ = state.backend
        with pytest.raises(RuntimeError, match=r"orchestrator\.components"):
            state.gpus.acquire(1)
        published = await redis_client.get(status_key(state.worker_id))
        assert json.loads(published) == {"role": "callbacks"}
    finally:
        await worker.on_shutdown(ctx)
    assert await redis_client.get(status_key(state.worker_id)) is None
