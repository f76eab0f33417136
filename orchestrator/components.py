"""The orchestrator's registration with the kernel's workers: its sandbox backend and GPUs.

Importing this module registers them (`evalpod.workers.register_components`); the worker
entry points (`orchestrator.worker`, `validator.worker`) import it, so the kernel never
imports the orchestrator.
"""

from __future__ import annotations

from evalpod.settings import Settings
from evalpod.workers import WorkerComponents, register_components
from orchestrator.gpus import GpuAllocator, detect_gpus
from orchestrator.sandbox import SandboxBackend, get_backend


def sandbox_backend(settings: Settings) -> SandboxBackend:
    """The worker's backend (`EVALPOD_BACKEND`), configured by the worker's settings (its
    warm pool among them); one per worker process."""
    return get_backend(settings.backend, settings=settings)


def gpu_allocator(settings: Settings) -> GpuAllocator:
    """The host's GPUs (`EVALPOD_GPU_DEVICES`, else nvidia-smi's), handed out whole."""
    return GpuAllocator(detect_gpus(settings))


COMPONENTS = WorkerComponents(backend=sandbox_backend, gpus=gpu_allocator)
register_components(COMPONENTS)
