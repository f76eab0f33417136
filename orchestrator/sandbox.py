"""The contract every sandbox backend implements, and the values that cross it.

A backend `launch`es a `SandboxJob` and returns a `SandboxProcess`; the monitor
(`monitor.supervisor.supervise`) then streams its output, enforces limits, waits,
kills and collects the result. Backends never decide a job's evaluation status:
they report a `SandboxOutcome` and the lifecycle records it.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

if TYPE_CHECKING:
    from evalpod.settings import Settings


class ViolationKind(StrEnum):
    timeout = "timeout"
    memory = "memory"
    output = "output"
    processes = "processes"
    disk = "disk"
    network = "network"
    syscall = "syscall"
    policy = "policy"  # the runtime guard (harness audit hook) denied an operation


class Violation(BaseModel):
    """Why a job was killed; stored on the evaluation as `violation`.

    `line` and `target` (a `policy` violation only): the script line that made the denied
    call and what it asked for (a path, a module); left out of the dump when unknown, so
    other kinds keep the `{kind, detail}` shape.
    """

    kind: ViolationKind
    detail: str
    line: int | None = None
    target: str | None = None

    @model_serializer(mode="wrap")
    def _without_unknowns(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("line", "target"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class ResourceLimits(BaseModel):
    """Everything a sandbox must enforce for one job."""

    model_config = ConfigDict(frozen=True)

    timeout_s: float = Field(gt=0, description="Wall-clock limit from launch to exit.")
    memory_mb: int = Field(gt=0, description="Memory limit (cgroup / pod limit).")
    cpus: float = Field(default=1.0, gt=0, description="CPU quota in cores.")
    max_processes: int = Field(default=128, gt=0, description="Tasks (processes+threads) cap.")
    disk_mb: int = Field(default=512, gt=0, description="Size of the writable work dir.")
    max_output_bytes: int = Field(default=8 * 1024 * 1024, description="Total stdout+stderr.")
    max_output_lines_per_s: int = Field(default=5000, description="Sustained log line rate.")
    max_result_bytes: int = Field(default=1024 * 1024, description="Size cap of result.json.")
    gpu_indices: tuple[int, ...] = Field(default=(), description="Host GPUs assigned to the job.")


JobKind = Literal["script", "lm_eval", "dataset_check", "score"]


class DataMount(BaseModel):
    """A host directory bound into the sandbox under /data, /input or /export.

    Read-only unless `writable` (only /export may be): the backend hands a writable
    source to the sandbox user before launch and never writes inside it afterwards.
    """

    model_config = ConfigDict(frozen=True)

    source: Path
    target: str = Field(pattern=r"^/(data|input|export)(/[A-Za-z0-9_.@-]{1,128})?$")
    writable: bool = False


LandlockMode = Literal["auto", "required", "off"]


class SandboxJob(BaseModel):
    """One thing to run in a sandbox: a script, an lm-eval task list, a dataset check or
    a trusted scoring pass."""

    job_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    kind: JobKind = "script"
    tenant_id: str | None = Field(
        default=None, description="Whose job: its fair-share queue on Kubernetes (Kueue).")
    fair_share: float | None = Field(
        default=None, gt=0, description="The tenant's fair-share weight; None means 1.")
    script: str | None = None
    tasks: list[str] = Field(default_factory=list)
    num_fewshot: int = 0
    limit: int | None = None
    model_id: str = "stub"
    model_path: Path | None = Field(
        default=None, description="Host directory of the model; None means the stub model."
    )
    shadow: bool = Field(
        default=False, description="model_path is the model's shadow (a validation trial).")
    limits: ResourceLimits
    seed: int = 1234
    guard: bool = Field(
        default=True, description="Arm the harness's runtime guard (off only for operators "
        "testing the sandbox's own layers: `evalpod sandbox run --no-guard`).")
    landlock: LandlockMode = Field(
        default="auto", description="The harness's Landlock layer (docs/sandbox.md): `auto` "
        "where the kernel has it, `required` refuses to run without it, `off` only for tests "
        "of the other layers alone.")
    mounts: list[DataMount] = Field(default_factory=list)
    datasets: dict[str, str] = Field(
        default_factory=dict,
        description="Dataset name -> mount target handed to evaluate_model(model, data).")
    data_row_limit: int | None = Field(default=None, ge=1,
                                       description="Rows of each dataset the script sees.")
    job_files: dict[str, str] = Field(
        default_factory=dict, description="Extra files written into /job (name -> text).")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Kind-specific harness options (check, scorer).")


class HarnessSpec(BaseModel):
    """What the in-sandbox harness reads from `/job/spec.json` (paths as seen inside)."""

    kind: JobKind
    script_path: str = "/job/script.py"
    script: str | None = Field(
        default=None, description="The script's text, sent with the assignment to a warm "
        "sandbox (which has no /job/script.py); None: read script_path.")
    result_path: str = "/out/result.json"
    model_path: str | None = Field(default="/model", description="None: use the stub model.")
    model_id: str = "stub"
    shadow: bool = Field(default=False, description="The model is the shadow of model_id.")
    tasks: list[str] = Field(default_factory=list)
    task_include_path: str | None = None
    num_fewshot: int = 0
    limit: int | None = None
    seed: int = 1234
    device: Literal["cpu", "cuda"] = "cpu"
    guard: bool = True
    landlock: LandlockMode = "auto"
    datasets: dict[str, str] = Field(default_factory=dict)
    data_row_limit: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)


# The harness exits with this code when the runtime guard's record was tampered with
# (its fd closed or replaced): a `policy` violation whose event is unknown.
GUARD_RECORD_LOST_EXIT = 86


class GuardDenial(BaseModel):
    """One operation the runtime guard denied, as the harness records it."""

    event: str = Field(max_length=200)
    detail: str = Field(max_length=300)
    line: int | None = None
    target: str | None = Field(
        default=None, max_length=200, description="The path, module or pid asked for.")

    def violation(self) -> Violation:
        return Violation(
            kind=ViolationKind.policy, detail=self.detail, line=self.line, target=self.target)


class HarnessResult(BaseModel):
    """What the harness writes to `result_path`; the host parses it size-capped.

    `violation`: the runtime guard's first denial. It is also in a record file the
    harness opened before the script ran (`GUARD_RECORD_NAME`), which the host reads
    too: a script that catches the denial cannot hide it.
    """

    ok: bool
    metrics: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None
    error_line: int | None = None
    violation: GuardDenial | None = None


GUARD_RECORD_NAME = "violation.json"
# The harness prints this right after loading the model, before the script runs
# (sandbox_images/harness/run.py, _load_model): the script's own time starts here.
MODEL_LOADED_MARK = "[evalpod] model loaded"


class ResourceUsage(BaseModel):
    memory_bytes: int | None = None
    processes: int | None = None
    disk_bytes: int | None = None


class SandboxOutcome(BaseModel):
    """The backend's report of a finished job."""

    status: Literal["succeeded", "failed", "killed", "cancelled"]
    exit_code: int | None = None
    violation: Violation | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    # duration_s is the script's own time, from the harness's MODEL_LOADED_MARK line to
    # the end (the whole job when no such line came); startup_s is launch to that line.
    duration_s: float = 0.0
    startup_s: float | None = None
    stdout_tail: str = ""


class SandboxError(Exception):
    """Base of the errors a backend raises."""


class SandboxUnavailable(SandboxError):
    """The backend cannot run anything here (missing binary, weak host, API down).

    Different from a job failing: the evaluation should stay queued or be retried,
    not be marked `failed`.
    """


class ResultRejected(SandboxError):
    """The result file is missing, not a regular file, too large, or not valid JSON."""


class OutputLine(str):
    """A line of job output; `continues` marks a piece of a longer line cut by the backend.

    A plain `str` passed where an `OutputLine` is expected is a whole line.
    """

    continues: bool

    def __new__(cls, text: str, *, continues: bool = False) -> OutputLine:
        line = super().__new__(cls, text)
        line.continues = continues
        return line


LineSink = Callable[[str], Awaitable[None]]


class SandboxProcess(ABC):
    """A launched job. Every method is safe to call after the job has exited."""

    job: SandboxJob

    @abstractmethod
    def output_lines(self) -> AsyncIterator[str]:
        """Merged stdout/stderr, one decoded line at a time (without the newline).

        Ends when the job's output is closed. A line longer than 64 KiB comes as pieces
        cut between characters (`orchestrator.lines`), each but the last an `OutputLine`
        with `continues=True`.
        """

    @abstractmethod
    async def wait(self) -> int | None:
        """Wait for exit; return the exit code (negative signal number, None if unknown)."""

    @abstractmethod
    async def kill(self) -> None:
        """Kill every process of the job and return only when none survives."""

    @abstractmethod
    async def usage(self) -> ResourceUsage:
        """Current resource use, for the monitor's limit checks (fields may be None)."""

    @abstractmethod
    async def observed_violation(self) -> Violation | None:
        """A violation the backend itself saw (cgroup OOM, seccomp kill, pod deadline)."""

    @abstractmethod
    async def collect_result(self) -> HarnessResult:
        """Read and parse the result file. Raises `ResultRejected`."""

    @abstractmethod
    async def cleanup(self) -> None:
        """Remove everything the job left on the host (work dirs, cgroups, objects)."""


class BackendHealth(BaseModel):
    ok: bool
    backend: str
    detail: dict[str, Any] = Field(default_factory=dict)


class SandboxBackend(ABC):
    name: str

    @abstractmethod
    async def launch(self, job: SandboxJob) -> SandboxProcess:
        """Start the job. Raises `SandboxUnavailable` if nothing can run here."""

    @abstractmethod
    async def health(self) -> BackendHealth:
        """Cheap check for `/health?detailed=true` and `evalpod doctor`."""

    def status(self) -> dict[str, Any]:
        """What the backend holds between jobs, as JSON values, published with its worker's
        heartbeat (`evalpod.workers.status_key`) for `/health` and `/metrics`; the local
        backend reports its warm pool (`{"warm_pool": PoolStatus}`). Cheap; raises nothing."""
        return {}

    async def aclose(self) -> None:
        """Release what the backend holds between jobs (the local backend's warm
        sandboxes); the backend still works afterwards. Raises nothing."""
        return None

    async def run(
        self,
        job: SandboxJob,
        on_line: LineSink,
        cancel: asyncio.Event | None = None,
    ) -> SandboxOutcome:
        """Launch and supervise to the end: the one call workers use."""
        from monitor.supervisor import supervise

        launched_at = time.monotonic()
        process = await self.launch(job)
        try:
            return await supervise(process, on_line, cancel or asyncio.Event(),
                                   launched_at=launched_at)
        finally:
            await process.cleanup()


def get_backend(name: str | None = None, *, settings: Settings | None = None,
                one_shot: bool = False) -> SandboxBackend:
    """The backend `name` (default `EVALPOD_BACKEND`) configured by `settings` (default the
    process's). `one_shot`: for a process that runs one job and exits (`evalpod sandbox
    run`): no warm pool, whose sandboxes nothing would take and whose warm-up the exit
    would wait for."""
    from evalpod.settings import get_settings

    settings = settings or get_settings()
    chosen = name or settings.backend
    if chosen == "kubernetes":
        from orchestrator.kubernetes.backend import KubernetesBackend

        return KubernetesBackend.from_settings(settings)
    from orchestrator.local.backend import LocalBackend

    if one_shot:
        from orchestrator.local.pool import without_pool

        settings = without_pool(settings)
    return LocalBackend(settings)
