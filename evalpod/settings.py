"""Process-wide configuration, read once from `EVALPOD_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

_GPU_TOLERATIONS: list[dict[str, str | int]] = [
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVALPOD_", extra="ignore")

    home: Path = Field(
        default=Path(".evalpod"),
        description="State directory: SQLite file, admin key, models, job work dirs.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql+asyncpg://… or sqlite+aiosqlite://…; unset means SQLite in home.",
    )
    database_pool_size: int = Field(
        default=20, ge=1,
        description="PostgreSQL connections each process keeps open; cover the API's usual "
        "concurrent requests, because connections past it are opened and closed per request.",
    )
    database_max_overflow: int = Field(
        default=20, ge=0, description="Extra connections a process may open under bursts.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis://…; unset means `evalpod up` starts an embedded redis-server.",
    )
    backend: Literal["local", "kubernetes"] = Field(
        default="local", description="Sandbox backend that runs evaluations."
    )
    max_script_bytes: int = Field(default=256 * 1024, description="Submit size cap (413 above).")
    default_timeout_s: int = Field(default=300, description="Run timeout when config omits it.")
    max_timeout_s: int = Field(default=3600, description="Largest timeout a submit may ask for.")
    default_memory_mb: int = Field(default=4096, description="Memory limit when config omits it.")
    max_memory_mb: int = Field(default=65536, description="Largest memory limit a submit may ask.")
    trial_timeout_s: int = Field(
        default=20, gt=0,
        description="Wall limit of the validation trial's script, counted from the moment "
        "its model (the shadow) is loaded.")
    trial_startup_s: int = Field(
        default=60, ge=0,
        description="Time the trial allows, on top of trial_timeout_s, for the interpreter "
        "to start and the shadow to load: a busy host's start-up is not the script's.")
    trial_memory_mb: int = Field(default=1024, description="Memory limit of the trial run.")
    warm_pool_size: int = Field(
        default=0, ge=0, le=16,
        description="Warm sandboxes (local backend) kept ready per recently used CPU key "
        "(model or shadow directory, CPUs, disk): started ahead of demand with torch and "
        "transformers imported, each taken by one job and destroyed after it. 0 turns the "
        "pool off (every job starts cold); `evalpod up` defaults it to 1.")
    warm_pool_gpu_size: int = Field(
        default=0, ge=0, le=16,
        description="Warm sandboxes kept per recently used (model, GPU slot) key; 0 means GPU "
        "jobs always start cold. A warm GPU sandbox binds only its slot's devices and is given "
        "only a job the GPU allocator granted exactly that slot.")
    warm_pool_idle_s: float = Field(
        default=300.0, gt=0,
        description="A key of the warm pool unused this long loses its warm sandboxes.")
    warm_pool_max_keys: int = Field(
        default=4, ge=1,
        description="Keys (model/shadow x GPU slot x CPUs x disk) the warm pool keeps warm at "
        "once; the least recently used goes first. Each warm sandbox holds about 0.5 GiB.")
    warm_pool_memory_mb: int = Field(
        default=2048, ge=256,
        description="Memory limit of a warm sandbox until its job's own limit replaces it.")
    warm_pool_start_timeout_s: float = Field(
        default=300.0, gt=0,
        description="How long a warm sandbox may take to become ready before it is dropped.")
    warm_pool_on_miss: Literal["cold", "warm"] = Field(
        default="cold",
        description="A job that finds no warm sandbox: `cold` starts it cold at once; `warm` "
        "starts a sandbox the pool's way and assigns the job to it (operators checking the "
        "pool's isolation run the escape suite so).")
    log_stream_maxlen: int = Field(
        default=100_000, ge=1000,
        description="Entries kept per evaluation log stream in Redis (the oldest go first); "
        "also the most lines of one job the archive can keep.",
    )
    log_archive_max_bytes: int = Field(
        default=16 * 1024 * 1024, ge=64 * 1024,
        description="Line text archived per job (trial, run attempt) in the database; over "
        "it, the tail is kept and the archive says how much was dropped.",
    )
    log_stream_ttl_s: int = Field(
        default=7 * 24 * 3600, description="How long a finished log stream stays in Redis."
    )
    validator_concurrency: int = Field(default=2, description="Trial runs at once per validator.")
    orchestrator_concurrency: int = Field(default=2, description="Sandboxes at once per worker.")
    worker_heartbeat_s: float = Field(
        default=2.0, description="How often a worker renews its liveness key in Redis."
    )
    worker_liveness_ttl_s: float = Field(
        default=10.0,
        description="A worker whose liveness key is older than this is dead; its jobs re-queue.",
    )
    reconcile_interval_s: float = Field(
        default=5.0, description="How often workers look for evaluations with no live owner."
    )
    max_attempts: int = Field(
        default=3, description="Runs of one evaluation before the reconciler fails it."
    )
    allow_weak_sandbox: bool = Field(
        default=False,
        description="Run jobs even where `evalpod doctor` finds isolation features missing.",
    )
    bwrap_path: str | None = Field(default=None, description="bubblewrap binary; found on PATH.")
    gpu_devices: str | None = Field(
        default=None,
        description="Comma list of GPU indices to hand out; unset means detect with nvidia-smi.",
    )
    rate_per_minute: int = Field(default=100, description="Requests per minute per API key.")
    rate_burst_per_second: int = Field(default=10, description="Requests per second per key.")
    api_workers: int = Field(
        default=1, ge=1, description="Processes `evalpod api` runs; one event loop uses one core."
    )
    auth_cache_ttl_s: float = Field(
        default=5.0, ge=0,
        description="Seconds an API replica reuses a looked-up key; revocations through evalpod "
        "apply at once regardless. 0 looks every request up in the database.",
    )
    max_live_evaluations: int = Field(
        default=50, description="Live (not terminal) evaluations per tenant at once."
    )
    gpu_seconds_per_day: int = Field(
        default=86_400, description="GPU-seconds per tenant per UTC day (gpus x timeout_s)."
    )
    callback_allow_private: bool = Field(
        default=False,
        description="Allow callback URLs that resolve to loopback/private/link-local addresses.",
    )
    callback_max_attempts: int = Field(default=6, description="Deliveries before giving up.")
    runtime_python: str | None = Field(
        default=None,
        description="Interpreter (with the `runtime` extra) that runs inside the local sandbox;"
        " unset means the service's own interpreter.",
    )
    lm_eval_tasks_dir: Path | None = Field(
        default=None,
        description="Extra operator lm-eval task YAML + data (besides the shipped tasks).",
    )
    dataset_quota_bytes: int = Field(
        default=20 * 1024**3, ge=0,
        description="Dataset storage per tenant (uploads, not yet deleted); 507 above. "
        "A tenant's limits.dataset_quota_bytes overrides it.",
    )
    dataset_min_free_bytes: int = Field(
        default=1024**3, ge=0, description="Disk an upload must leave free under home (507).",
    )
    dataset_check_timeout_s: int = Field(
        default=900, ge=1, description="Wall limit of the in-sandbox check of one upload.",
    )
    dataset_check_memory_mb: int = Field(
        default=4096, ge=64, description="Memory limit of the in-sandbox check of one upload.",
    )
    k8s_namespace: str = Field(default="evalpod-jobs", description="Namespace of evaluation pods.")
    k8s_runtime_class: str | None = Field(
        default="gvisor", description="runtimeClassName of evaluation pods (gVisor by default)."
    )
    k8s_image: str = Field(
        default="ghcr.io/evalpod/runtime:0.1.0", description="Runtime image of evaluation pods."
    )
    k8s_image_pull_policy: Literal["IfNotPresent", "Always", "Never"] = Field(
        default="IfNotPresent", description="imagePullPolicy of evaluation pods."
    )
    k8s_gpu_runtime_class: str | None = Field(
        default=None,
        description="runtimeClassName for GPU jobs (e.g. a gVisor class with nvproxy);"
        " unset means k8s_runtime_class.",
    )
    k8s_seccomp_localhost_profile: str | None = Field(
        default=None,
        description="Localhost seccomp profile (relative to the kubelet's seccomp dir);"
        " unset means RuntimeDefault.",
    )
    k8s_egress_cidrs: list[str] = Field(
        default_factory=list,
        description="CIDRs evaluation pods may reach (JSON list); empty means no egress at all.",
    )
    k8s_node_selector: dict[str, str] = Field(
        default_factory=dict, description="nodeSelector of CPU evaluation pods (JSON object)."
    )
    k8s_gpu_node_selector: dict[str, str] = Field(
        default_factory=dict, description="nodeSelector of GPU evaluation pods (JSON object)."
    )
    k8s_tolerations: list[dict[str, str | int]] = Field(
        default_factory=list, description="Tolerations of CPU evaluation pods (JSON list)."
    )
    k8s_gpu_tolerations: list[dict[str, str | int]] = Field(
        default_factory=lambda: list(_GPU_TOLERATIONS),
        description="Tolerations of GPU evaluation pods (JSON list).",
    )
    k8s_run_as_uid: int = Field(default=65532, gt=0, description="uid of evaluation pods.")
    k8s_run_as_gid: int = Field(
        default=65532, gt=0, description="gid and fsGroup of evaluation pods."
    )
    k8s_job_ttl_s: int = Field(
        default=3600,
        description="ttlSecondsAfterFinished: the cluster's own clean-up if evalpod's fails.",
    )
    k8s_deadline_margin_s: int = Field(
        default=30,
        description="activeDeadlineSeconds = timeout + this (image pull and model load slack).",
    )
    k8s_tmp_size_mb: int = Field(default=256, description="sizeLimit of the pod's /tmp emptyDir.")
    k8s_model_pvc: str | None = Field(
        default=None, description="PersistentVolumeClaim holding the models, mounted read-only."
    )
    k8s_model_subpaths: dict[str, str] = Field(
        default_factory=dict,
        description="Model id -> subPath inside the model PVC (JSON); default is the model id.",
    )
    k8s_priority_class: str | None = Field(
        default=None, description="priorityClassName of evaluation pods."
    )
    k8s_kueue_cluster_queue: str | None = Field(
        default=None,
        description="Kueue ClusterQueue that admits evaluation Jobs (fair sharing across "
        "tenants: one LocalQueue per tenant, weighted by its fair_share). Unset: evalpod "
        "resumes its Jobs itself and Kueue is not used.",
    )
    k8s_in_cluster: bool | None = Field(
        default=None,
        description="Use the pod's service account; unset means try in-cluster, then kubeconfig.",
    )
    k8s_kubeconfig: Path | None = Field(
        default=None, description="kubeconfig file when not in-cluster (default ~/.kube/config)."
    )
    k8s_context: str | None = Field(default=None, description="kubeconfig context to use.")
    k8s_poll_interval_s: float = Field(
        default=1.0, gt=0, description="How often the backend polls pod and Job status."
    )
    k8s_kill_timeout_s: float = Field(
        default=120.0, gt=0, description="How long kill waits for the pod to be gone."
    )

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def admin_key_path(self) -> Path:
        return self.home_dir / "admin.key"

    @property
    def models_dir(self) -> Path:
        return self.home_dir / "models"

    @property
    def jobs_dir(self) -> Path:
        return self.home_dir / "jobs"

    def database_dsn(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.home_dir / 'evalpod.db'}"

    def redis_dsn(self) -> str:
        if self.redis_url is None:
            raise RuntimeError("EVALPOD_REDIS_URL is not set and no embedded Redis is running")
        return self.redis_url.get_secret_value()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment; raises pydantic's `ValidationError` (title
    "Settings") for a bad value: `describe_invalid` says which in one line."""
    return Settings()


def describe_invalid(exc: ValidationError) -> str:
    """One line naming each bad variable and what is wrong with it, never its value (a
    URL can carry a password)."""
    prefix = Settings.model_config.get("env_prefix", "")
    return "; ".join(
        f"{prefix}{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
        for error in exc.errors())
