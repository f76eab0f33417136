"""Pure builders of the Secret, Job and NetworkPolicy that run one evaluation, and of the
tenant's Kueue LocalQueue when Kueue admits evaluation Jobs."""

from __future__ import annotations

import base64
import hashlib
import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalpod.settings import Settings
from orchestrator.sandbox import HarnessSpec, SandboxJob

Manifest = dict[str, Any]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "evalpod"
COMPONENT_LABEL = "app.kubernetes.io/component"
EVALUATION_LABEL = "evalpod.dev/evaluation-id"
EVALUATION_ANNOTATION = "evalpod.dev/evaluation-id"
CONTAINER_NAME = "harness"
RESULT_MARKER = "EVALPOD_RESULT "
HARNESS_PATH = "/opt/evalpod/harness/run.py"
TASKS_DIR = "/opt/evalpod/tasks"
SPEC_PATH = "/job/spec.json"
RESULT_PATH = "/out/result.json"
# The runtime guard's record, next to the result (orchestrator.sandbox.GUARD_RECORD_NAME).
RECORD_PATH = "/out/violation.json"
# orchestrator.local.result_file.MAX_GUARD_RECORD_BYTES: what the marker line carries of it.
MAX_RECORD_BYTES = 64 * 1024
MODEL_DIR = "/model"
GPU_RESOURCE = "nvidia.com/gpu"
KUEUE_API_VERSION = "kueue.x-k8s.io/v1beta1"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
TENANT_LABEL = "evalpod.dev/tenant"

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


class Toleration(BaseModel):
    """A pod toleration, as the Kubernetes API spells it."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    key: str | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = Field(default=None, alias="tolerationSeconds")

    def to_manifest(self) -> Manifest:
        return self.model_dump(by_alias=True, exclude_none=True)


class ManifestOptions(BaseModel):
    """Operator choices that shape every evaluation's objects (from `EVALPOD_K8S_*`)."""

    model_config = ConfigDict(frozen=True)

    namespace: str = "evalpod-jobs"
    image: str = "ghcr.io/evalpod/runtime:0.1.0"
    image_pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"
    runtime_class: str | None = "gvisor"
    gpu_runtime_class: str | None = None
    seccomp_localhost_profile: str | None = None
    egress_cidrs: tuple[str, ...] = ()
    node_selector: dict[str, str] = Field(default_factory=dict)
    gpu_node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    gpu_tolerations: tuple[Toleration, ...] = ()
    uid: int = Field(default=65532, gt=0)
    gid: int = Field(default=65532, gt=0)
    ttl_after_finished_s: int = Field(default=3600, ge=0)
    deadline_margin_s: int = Field(default=30, ge=0)
    tmp_size_mb: int = Field(default=256, gt=0)
    model_pvc: str | None = None
    model_subpaths: dict[str, str] = Field(default_factory=dict)
    priority_class: str | None = None
    kueue_cluster_queue: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ManifestOptions:
        return cls(
            namespace=settings.k8s_namespace,
            image=settings.k8s_image,
            image_pull_policy=settings.k8s_image_pull_policy,
            runtime_class=settings.k8s_runtime_class,
            gpu_runtime_class=settings.k8s_gpu_runtime_class,
            seccomp_localhost_profile=settings.k8s_seccomp_localhost_profile,
            egress_cidrs=tuple(settings.k8s_egress_cidrs),
            node_selector=settings.k8s_node_selector,
            gpu_node_selector=settings.k8s_gpu_node_selector,
            tolerations=tuple(Toleration.model_validate(t) for t in settings.k8s_tolerations),
            gpu_tolerations=tuple(
                Toleration.model_validate(t) for t in settings.k8s_gpu_tolerations
            ),
            uid=settings.k8s_run_as_uid,
            gid=settings.k8s_run_as_gid,
            ttl_after_finished_s=settings.k8s_job_ttl_s,
            deadline_margin_s=settings.k8s_deadline_margin_s,
            tmp_size_mb=settings.k8s_tmp_size_mb,
            model_pvc=settings.k8s_model_pvc,
            model_subpaths=settings.k8s_model_subpaths,
            priority_class=settings.k8s_priority_class,
            kueue_cluster_queue=settings.k8s_kueue_cluster_queue,
        )


class MissingModelVolume(ValueError):
    """The job needs a real model but no model PVC is configured."""


class EvaluationManifests(BaseModel):
    """The objects of one evaluation, in the order the backend creates them."""

    job: Manifest
    secret: Manifest
    network_policy: Manifest

    def documents(self) -> list[Manifest]:
        return [self.job, self.secret, self.network_policy]


def object_name(job_id: str) -> str:
    """A DNS-1123 name for the evaluation's objects, unique per job id."""
    slug = re.sub(r"[^a-z0-9-]+", "-", job_id.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(job_id.encode()).hexdigest()[:10]
    return f"evalpod-{slug}-{digest}" if slug else f"evalpod-{digest}"


def evaluation_label(job_id: str) -> str:
    """The job id when it is a valid label value, else the object name (the annotation keeps it)."""
    return job_id if _LABEL_VALUE.match(job_id) else object_name(job_id)


def local_queue_name(tenant_id: str | None) -> str:
    """The tenant's Kueue LocalQueue: a DNS-1123 name, unique per tenant id."""
    return object_name(f"tenant-{tenant_id or 'none'}").replace("evalpod-", "evalpod-q-", 1)


def build_local_queue(job: SandboxJob, options: ManifestOptions) -> Manifest:
    """The tenant's LocalQueue in the jobs namespace, pointing at the shared ClusterQueue.

    Its `fairSharing.weight` is the tenant's share: with the ClusterQueue's
    `admissionScope.admissionMode: UsageBasedAdmissionFairSharing`, Kueue admits the
    workloads of the LocalQueue with the least weighted recent usage first.
    Raises ValueError when Kueue is not configured.
    """
    if options.kueue_cluster_queue is None:
        raise ValueError("Kueue is not configured (EVALPOD_K8S_KUEUE_CLUSTER_QUEUE)")
    weight = job.fair_share if job.fair_share is not None else 1.0
    return {
        "apiVersion": KUEUE_API_VERSION,
        "kind": "LocalQueue",
        "metadata": {
            "name": local_queue_name(job.tenant_id),
            "namespace": options.namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY, COMPONENT_LABEL: "tenant-queue",
                       **({TENANT_LABEL: job.tenant_id}
                          if job.tenant_id and _LABEL_VALUE.match(job.tenant_id) else {})},
        },
        "spec": {
            "clusterQueue": options.kueue_cluster_queue,
            "fairSharing": {"weight": f"{weight:g}"},
        },
    }


def kueue_labels(job: SandboxJob, options: ManifestOptions) -> dict[str, str]:
    """Labels that hand a suspended Job to Kueue; empty when Kueue is not used."""
    if options.kueue_cluster_queue is None:
        return {}
    return {KUEUE_QUEUE_LABEL: local_queue_name(job.tenant_id)}


def gpu_count(job: SandboxJob) -> int:
    return len(job.limits.gpu_indices)


def labels(job: SandboxJob) -> dict[str, str]:
    return {
        MANAGED_BY_LABEL: MANAGED_BY,
        COMPONENT_LABEL: "evaluation",
        EVALUATION_LABEL: evaluation_label(job.job_id),
    }


def pod_selector(job: SandboxJob) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, EVALUATION_LABEL: evaluation_label(job.job_id)}


def label_selector(job: SandboxJob) -> str:
    return ",".join(f"{key}={value}" for key, value in pod_selector(job).items())


def _metadata(job: SandboxJob, options: ManifestOptions) -> Manifest:
    return {
        "name": object_name(job.job_id),
        "namespace": options.namespace,
        "labels": labels(job),
        "annotations": {EVALUATION_ANNOTATION: job.job_id},
    }


def owner_reference(job_name: str, job_uid: str) -> Manifest:
    """Ties a Secret or NetworkPolicy to its Job so the garbage collector removes it too."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": job_name,
        "uid": job_uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def harness_spec(job: SandboxJob) -> HarnessSpec:
    """The spec as seen inside the pod."""
    return HarnessSpec(
        kind=job.kind,
        script_path="/job/script.py",
        result_path=RESULT_PATH,
        model_path=None if job.model_path is None else MODEL_DIR,
        model_id=job.model_id,
        shadow=job.shadow,
        tasks=job.tasks,
        task_include_path=TASKS_DIR if job.kind == "lm_eval" else None,
        num_fewshot=job.num_fewshot,
        limit=job.limit,
        seed=job.seed,
        device="cuda" if gpu_count(job) > 0 else "cpu",
        guard=job.guard,
        landlock=job.landlock,
    )


def build_secret(job: SandboxJob, options: ManifestOptions) -> Manifest:
    files = {"spec.json": harness_spec(job).model_dump_json()}
    if job.script is not None:
        files["script.py"] = job.script
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(job, options),
        "type": "Opaque",
        "immutable": True,
        "data": {name: base64.b64encode(text.encode()).decode() for name, text in files.items()},
    }


def build_network_policy(job: SandboxJob, options: ManifestOptions) -> Manifest:
    """Deny all ingress and egress of the evaluation pod, bar the operator's CIDR allowlist."""
    egress: list[Manifest] = []
    if options.egress_cidrs:
        egress = [{"to": [{"ipBlock": {"cidr": cidr}} for cidr in options.egress_cidrs]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(job, options),
        "spec": {
            "podSelector": {"matchLabels": pod_selector(job)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": egress,
        },
    }


def entrypoint_script(
    max_result_bytes: int,
    *,
    harness: str = HARNESS_PATH,
    spec: str = SPEC_PATH,
    result: str = RESULT_PATH,
    record: str = RECORD_PATH,
) -> str:
    """Run the harness, then print its result file base64-encoded on one marker line,
    followed, when the runtime guard's record exists, by a space and the record
    base64-encoded (empty when it is not a regular file: read as tampered).

    The result travels through the pod log because that stays readable through the
    API after exit, unlike the container's files; the termination message caps at
    4 KiB. Reading one byte past the cap lets the backend tell "too large" apart.
    """
    has_result = f"[ -s {result} ] && [ ! -L {result} ]"
    has_record = f"{{ [ -e {record} ] || [ -L {record} ]; }}"
    return (
        f"python -I {harness} {spec}; rc=$?; "
        f"if {{ {has_result}; }} || {has_record}; then printf '\\n{RESULT_MARKER}'; "
        f"if {has_result}; then head -c {max_result_bytes + 1} {result} | base64 "
        "| tr -d '\\n'; fi; "
        f"if {has_record}; then printf ' '; if [ -f {record} ] && [ ! -L {record} ]; then "
        f"head -c {MAX_RECORD_BYTES + 1} {record} | base64 | tr -d '\\n'; fi; fi; "
        "printf '\\n'; fi; exit $rc"
    )


def entrypoint(job: SandboxJob) -> list[str]:
    return ["/bin/sh", "-c", entrypoint_script(job.limits.max_result_bytes)]


def _resources(job: SandboxJob) -> Manifest:
    cpu = f"{math.ceil(job.limits.cpus * 1000)}m"
    amounts: dict[str, str] = {"cpu": cpu, "memory": f"{job.limits.memory_mb}Mi"}
    if gpu_count(job) > 0:
        amounts[GPU_RESOURCE] = str(gpu_count(job))
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _seccomp(options: ManifestOptions) -> Manifest:
    if options.seccomp_localhost_profile:
        return {"type": "Localhost", "localhostProfile": options.seccomp_localhost_profile}
    return {"type": "RuntimeDefault"}


def _container_security(options: ManifestOptions) -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": options.uid,
        "runAsGroup": options.gid,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": _seccomp(options),
        "procMount": "Default",
    }


def _pod_security(options: ManifestOptions) -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": options.uid,
        "runAsGroup": options.gid,
        "fsGroup": options.gid,
        "supplementalGroups": [],
        "seccompProfile": _seccomp(options),
    }


def _model_subpath(job: SandboxJob, options: ManifestOptions) -> str:
    if job.shadow:
        # Laid out on the model volume as evalpod.shadow lays out EVALPOD_HOME/models, so a
        # trial can never be handed the real weights by falling back to the model's own path.
        return f"shadows/{job.model_id}"
    return options.model_subpaths.get(job.model_id, job.model_id)


def _volumes(job: SandboxJob, options: ManifestOptions) -> list[Manifest]:
    out_mb = math.ceil(2 * job.limits.max_result_bytes / (1024 * 1024)) + 1
    volumes: list[Manifest] = [
        {
            "name": "job",
            "secret": {"secretName": object_name(job.job_id), "defaultMode": 0o440},
        },
        {"name": "work", "emptyDir": {"sizeLimit": f"{job.limits.disk_mb}Mi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": f"{options.tmp_size_mb}Mi"}},
        {"name": "out", "emptyDir": {"sizeLimit": f"{out_mb}Mi"}},
    ]
    if job.model_path is not None:
        if options.model_pvc is None:
            raise MissingModelVolume(
                f"model {job.model_id!r} needs EVALPOD_K8S_MODEL_PVC (a read-only model volume)"
            )
        volumes.append(
            {
                "name": "model",
                "persistentVolumeClaim": {"claimName": options.model_pvc, "readOnly": True},
            }
        )
    return volumes


def _mounts(job: SandboxJob, options: ManifestOptions) -> list[Manifest]:
    mounts: list[Manifest] = [
        {"name": "job", "mountPath": "/job", "readOnly": True},
        {"name": "work", "mountPath": "/work"},
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "out", "mountPath": "/out"},
    ]
    if job.model_path is not None:
        mounts.append(
            {
                "name": "model",
                "mountPath": MODEL_DIR,
                "subPath": _model_subpath(job, options),
                "readOnly": True,
            }
        )
    return mounts


def _env() -> list[Manifest]:
    values = {
        "HOME": "/work",
        "TMPDIR": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": "/tmp/hf",
    }
    return [{"name": name, "value": value} for name, value in values.items()]


def _container(job: SandboxJob, options: ManifestOptions) -> Manifest:
    return {
        "name": CONTAINER_NAME,
        "image": options.image,
        "imagePullPolicy": options.image_pull_policy,
        "command": entrypoint(job),
        "workingDir": "/work",
        "env": _env(),
        "resources": _resources(job),
        "securityContext": _container_security(options),
        "volumeMounts": _mounts(job, options),
        "terminationMessagePolicy": "File",
        "stdin": False,
        "tty": False,
    }


def _placement(job: SandboxJob, options: ManifestOptions) -> Manifest:
    gpu = gpu_count(job) > 0
    runtime_class = (
        (options.gpu_runtime_class or options.runtime_class) if gpu else (options.runtime_class)
    )
    selector = options.gpu_node_selector if gpu else options.node_selector
    tolerations = options.gpu_tolerations if gpu else options.tolerations
    placement: Manifest = {}
    if runtime_class:
        placement["runtimeClassName"] = runtime_class
    if selector:
        placement["nodeSelector"] = dict(selector)
    if tolerations:
        placement["tolerations"] = [t.to_manifest() for t in tolerations]
    if options.priority_class:
        placement["priorityClassName"] = options.priority_class
    return placement


def build_pod_spec(job: SandboxJob, options: ManifestOptions) -> Manifest:
    return {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
        "shareProcessNamespace": False,
        "terminationGracePeriodSeconds": 5,
        "securityContext": _pod_security(options),
        "containers": [_container(job, options)],
        "volumes": _volumes(job, options),
        **_placement(job, options),
    }


def active_deadline_s(job: SandboxJob, options: ManifestOptions) -> int:
    return math.ceil(job.limits.timeout_s) + options.deadline_margin_s


def build_job(job: SandboxJob, options: ManifestOptions) -> Manifest:
    """The Job, created suspended: no pod starts before its Secret and NetworkPolicy exist."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(job, options),
        "spec": {
            "suspend": True,
            "backoffLimit": 0,
            "completions": 1,
            "parallelism": 1,
            "activeDeadlineSeconds": active_deadline_s(job, options),
            "ttlSecondsAfterFinished": options.ttl_after_finished_s,
            "template": {
                "metadata": {
                    "labels": labels(job),
                    "annotations": {EVALUATION_ANNOTATION: job.job_id},
                },
                "spec": build_pod_spec(job, options),
            },
        },
    }


def with_owner(manifest: Manifest, job_name: str, job_uid: str) -> Manifest:
    metadata = {**manifest["metadata"], "ownerReferences": [owner_reference(job_name, job_uid)]}
    return {**manifest, "metadata": metadata}


def build_manifests(
    job: SandboxJob, options: ManifestOptions, job_uid: str | None = None
) -> EvaluationManifests:
    """All objects of one evaluation; with the Job's uid, the others carry an owner reference."""
    secret = build_secret(job, options)
    policy = build_network_policy(job, options)
    if job_uid is not None:
        name = object_name(job.job_id)
        secret = with_owner(secret, name, job_uid)
        policy = with_owner(policy, name, job_uid)
    return EvaluationManifests(job=build_job(job, options), secret=secret, network_policy=policy)
