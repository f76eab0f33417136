"""Every evaluation manifest is schema-valid Kubernetes and carries the full hardening."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from orchestrator.kubernetes.logs import parse_result
from orchestrator.kubernetes.manifests import (
    EVALUATION_ANNOTATION,
    EVALUATION_LABEL,
    GPU_RESOURCE,
    ManifestOptions,
    MissingModelVolume,
    Toleration,
    build_manifests,
    entrypoint_script,
    evaluation_label,
    object_name,
)
from orchestrator.sandbox import HarnessSpec, ResourceLimits, SandboxJob

K8S_VERSION = "1.30.0"
# Also the newest schema kubernetes-validate ships, to catch fields removed since.
LATEST_K8S_VERSION = kubernetes_validate.latest_version()
HARNESS = Path(__file__).resolve().parents[2] / "sandbox_images" / "harness" / "run.py"

GPU_TOLERATION = Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")
OPTION_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no-runtime-class": {"runtime_class": None},
    "gpu-runtime-class": {"runtime_class": "gvisor", "gpu_runtime_class": "gvisor-nvproxy"},
    "localhost-seccomp": {"seccomp_localhost_profile": "profiles/evalpod.json"},
    "egress-allowlist": {"egress_cidrs": ("10.20.0.0/16", "192.168.1.10/32")},
    "placement": {
        "node_selector": {"evalpod.dev/pool": "cpu"},
        "gpu_node_selector": {"nvidia.com/gpu.present": "true"},
        "tolerations": (
            Toleration(key="dedicated", value="evalpod", effect="NoExecute", tolerationSeconds=60),
        ),
        "gpu_tolerations": (GPU_TOLERATION,),
        "priority_class": "evalpod-jobs",
    },
    "model-pvc": {"model_pvc": "evalpod-models", "model_subpaths": {"llama": "meta/llama-3"}},
}


def make_job(*, gpus: int = 0, kind: str = "script", model: bool = False, **kw: Any) -> SandboxJob:
    return SandboxJob(
        job_id=kw.pop("job_id", "3f2c1e9a-0000-4000-8000-00000000abcd"),
        kind=kind,  # type: ignore[arg-type]
        script="def evaluate_model(model):\n    return {'n': 1}\n" if kind == "script" else None,
        tasks=["hellaswag"] if kind == "lm_eval" else [],
        model_id="llama" if model else "stub",
        model_path=Path("/models/llama") if model else None,
        limits=ResourceLimits(
            timeout_s=kw.pop("timeout_s", 300),
            memory_mb=4096,
            cpus=kw.pop("cpus", 2.0),
            disk_mb=1024,
            gpu_indices=tuple(range(gpus)),
        ),
    )


def pod_spec(job_manifest: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = job_manifest["spec"]["template"]["spec"]
    return spec


CASES = [
    (name, gpus, kind) for name in OPTION_SETS for gpus in (0, 2) for kind in ("script", "lm_eval")
]


@pytest.mark.parametrize(("option_set", "gpus", "kind"), CASES)
def test_every_manifest_validates_against_the_kubernetes_schema(
    option_set: str, gpus: int, kind: str
) -> None:
    options = ManifestOptions.model_validate({"model_pvc": "models", **OPTION_SETS[option_set]})
    manifests = build_manifests(make_job(gpus=gpus, kind=kind, model=True), options, "uid-1")
    for document in manifests.documents():
        for version in (K8S_VERSION, LATEST_K8S_VERSION):
            kubernetes_validate.validate(document, version, strict=True)


def test_strict_validation_really_rejects_unknown_fields() -> None:
    manifests = build_manifests(make_job(), ManifestOptions())
    pod_spec(manifests.job)["hostNetwrok"] = False
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifests.job, K8S_VERSION, strict=True)


def test_pod_hardening_is_explicit() -> None:
    spec = pod_spec(build_manifests(make_job(), ManifestOptions()).job)
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert spec["hostNetwork"] is False
    assert spec["hostPID"] is False
    assert spec["hostIPC"] is False
    assert spec["runtimeClassName"] == "gvisor"
    pod_security = spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == 65532
    assert pod_security["runAsGroup"] == 65532
    assert pod_security["fsGroup"] == 65532
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] > 0
    assert security["allowPrivilegeEscalation"] is False
    assert security["privileged"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert all("hostPath" not in volume for volume in spec["volumes"])


def test_writable_dirs_are_size_limited_empty_dirs_and_inputs_read_only() -> None:
    spec = pod_spec(build_manifests(make_job(model=True), ManifestOptions(model_pvc="m")).job)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert volumes["work"]["emptyDir"] == {"sizeLimit": "1024Mi"}
    assert volumes["tmp"]["emptyDir"] == {"sizeLimit": "256Mi"}
    assert "sizeLimit" in volumes["out"]["emptyDir"]
    assert {mounts["/work"]["name"], mounts["/tmp"]["name"]} == {"work", "tmp"}
    assert mounts["/job"]["readOnly"] is True
    assert mounts["/model"]["readOnly"] is True
    assert volumes["model"]["persistentVolumeClaim"] == {"claimName": "m", "readOnly": True}


def test_requests_equal_limits_and_gpus_are_requested() -> None:
    cpu = pod_spec(build_manifests(make_job(cpus=1.5), ManifestOptions()).job)
    resources = cpu["containers"][0]["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "1500m", "memory": "4096Mi"}
    gpu = pod_spec(build_manifests(make_job(gpus=2), ManifestOptions()).job)
    resources = gpu["containers"][0]["resources"]
    assert resources["requests"] == resources["limits"]
    assert resources["limits"][GPU_RESOURCE] == "2"


def test_gpu_jobs_get_gpu_placement_and_cpu_jobs_do_not() -> None:
    options = ManifestOptions.model_validate(OPTION_SETS["placement"])
    cpu = pod_spec(build_manifests(make_job(), options).job)
    gpu = pod_spec(build_manifests(make_job(gpus=1), options).job)
    assert cpu["nodeSelector"] == {"evalpod.dev/pool": "cpu"}
    assert cpu["tolerations"] == [
        {
            "key": "dedicated",
            "operator": "Equal",
            "value": "evalpod",
            "effect": "NoExecute",
            "tolerationSeconds": 60,
        }
    ]
    assert gpu["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert gpu["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert gpu["priorityClassName"] == "evalpod-jobs"


def test_runtime_class_options() -> None:
    off = pod_spec(build_manifests(make_job(), ManifestOptions(runtime_class=None)).job)
    assert "runtimeClassName" not in off
    options = ManifestOptions(runtime_class="gvisor", gpu_runtime_class="gvisor-nvproxy")
    assert pod_spec(build_manifests(make_job(), options).job)["runtimeClassName"] == "gvisor"
    gpu = pod_spec(build_manifests(make_job(gpus=1), options).job)
    assert gpu["runtimeClassName"] == "gvisor-nvproxy"


def test_localhost_seccomp_profile() -> None:
    options = ManifestOptions(seccomp_localhost_profile="profiles/evalpod.json")
    spec = pod_spec(build_manifests(make_job(), options).job)
    expected = {"type": "Localhost", "localhostProfile": "profiles/evalpod.json"}
    assert spec["securityContext"]["seccompProfile"] == expected
    assert spec["containers"][0]["securityContext"]["seccompProfile"] == expected


def test_network_policy_denies_everything_by_default() -> None:
    manifests = build_manifests(make_job(), ManifestOptions())
    policy = manifests.network_policy["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [] and policy["egress"] == []
    pod_labels = manifests.job["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()


def test_egress_allowlist_is_cidr_only() -> None:
    options = ManifestOptions(egress_cidrs=("10.20.0.0/16",))
    policy = build_manifests(make_job(), options).network_policy["spec"]
    assert policy["egress"] == [{"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}]}]
    assert policy["ingress"] == []


def test_job_shape_and_owner_references() -> None:
    job = make_job(timeout_s=120.5)
    manifests = build_manifests(job, ManifestOptions(deadline_margin_s=30), job_uid="uid-9")
    spec = manifests.job["spec"]
    assert spec["suspend"] is True
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 121 + 30
    assert spec["ttlSecondsAfterFinished"] == 3600
    for owned in (manifests.secret, manifests.network_policy):
        (ref,) = owned["metadata"]["ownerReferences"]
        assert ref == {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": manifests.job["metadata"]["name"],
            "uid": "uid-9",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    for document in manifests.documents():
        labels = document["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "evalpod"
        assert labels[EVALUATION_LABEL] == job.job_id
        assert document["metadata"]["annotations"][EVALUATION_ANNOTATION] == job.job_id


def test_secret_carries_script_and_spec_as_seen_in_the_pod() -> None:
    job = make_job(gpus=1, model=True)
    secret = build_manifests(job, ManifestOptions(model_pvc="m")).secret
    assert secret["immutable"] is True
    files = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert files["script.py"] == job.script
    spec = HarnessSpec.model_validate_json(files["spec.json"])
    assert (spec.script_path, spec.result_path, spec.model_path) == (
        "/job/script.py",
        "/out/result.json",
        "/model",
    )
    assert spec.device == "cuda"


def test_model_subpath_per_model_and_missing_pvc() -> None:
    options = ManifestOptions.model_validate(OPTION_SETS["model-pvc"])
    spec = pod_spec(build_manifests(make_job(model=True), options).job)
    (model_mount,) = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "model"]
    assert model_mount["subPath"] == "meta/llama-3"
    with pytest.raises(MissingModelVolume):
        build_manifests(make_job(model=True), ManifestOptions())


def test_a_trial_mounts_the_shadow_never_the_model() -> None:
    # Even with a sub-path mapped for the model, the trial gets shadows/<id> of the volume.
    options = ManifestOptions.model_validate(OPTION_SETS["model-pvc"])
    trial = make_job(model=True).model_copy(update={"shadow": True})
    manifests = build_manifests(trial, options)
    spec = pod_spec(manifests.job)
    (model_mount,) = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "model"]
    assert model_mount["subPath"] == "shadows/llama"
    files = {k: base64.b64decode(v).decode() for k, v in manifests.secret["data"].items()}
    harness = HarnessSpec.model_validate_json(files["spec.json"])
    assert harness.shadow is True and harness.model_id == "llama"


@pytest.mark.parametrize("job_id", ["A_B.c", "x" * 64, "Upper.Case_ID-1", "-weird-"])
def test_names_and_labels_are_valid_for_any_job_id(job_id: str) -> None:
    name = object_name(job_id)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name)
    assert len(evaluation_label(job_id)) <= 63
    assert object_name(job_id) != object_name(job_id + "x")
    kubernetes_validate.validate(
        build_manifests(make_job(job_id=job_id), ManifestOptions()).job, K8S_VERSION, strict=True
    )


def _run_entrypoint(tmp_path: Path, source: str) -> subprocess.CompletedProcess[bytes]:
    """The pod's real entrypoint wrapper around the real harness, run locally."""
    script = tmp_path / "script.py"
    script.write_text(source)
    spec = HarnessSpec(
        kind="script",
        script_path=str(script),
        result_path=str(tmp_path / "result.json"),
        model_path=None,
    )
    (tmp_path / "spec.json").write_text(spec.model_dump_json())
    command = entrypoint_script(
        1024,
        harness=str(HARNESS),
        spec=str(tmp_path / "spec.json"),
        result=str(tmp_path / "result.json"),
    ).replace("python -I", f"{sys.executable} -I", 1)
    return subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=60)


def test_entrypoint_runs_the_real_harness_and_emits_a_parseable_result(tmp_path: Path) -> None:
    done = _run_entrypoint(
        tmp_path, "def evaluate_model(model):\n    print('hi')\n    return {'acc': 0.5}\n"
    )
    assert done.returncode == 0, done.stderr
    result = parse_result(done.stdout, 1024)
    assert result.ok and result.metrics == {"acc": 0.5}
    assert done.stdout.startswith(b"hi\n")


def test_entrypoint_keeps_the_harness_exit_code_and_reports_failures(tmp_path: Path) -> None:
    done = _run_entrypoint(tmp_path, "def evaluate_model(model):\n    raise ValueError('boom')\n")
    assert done.returncode == 1
    result = parse_result(done.stdout, 1024)
    assert not result.ok and result.error_type == "ValueError"
    assert json.loads(result.model_dump_json())["error"].startswith("ValueError")
