"""The Helm chart passes the real Helm engine's lint, and everything it renders is valid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from evalpod.settings import Settings
from orchestrator.kubernetes.manifests import ManifestOptions

helm = pytest.importorskip("helm_python", reason="helm-python-sdk (the Helm engine) is missing")

CHART = Path(__file__).resolve().parents[2] / "helm" / "evalpod"
K8S_VERSION = "1.30.0"
SECRET = {"existingSecret": "evalpod-urls"}

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "ingress": {
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "annotations": {"nginx.ingress.kubernetes.io/proxy-buffering": "off"},
            "hosts": [{"host": "evalpod.test", "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "tls": [{"secretName": "evalpod-tls", "hosts": ["evalpod.test"]}],
        }
    },
    "gpu-gvisor": {
        "evaluations": {
            "runtimeClass": {
                "name": "gvisor",
                "create": True,
                "handler": "runsc",
                "nodeSelector": {"sandbox": "gvisor"},
            },
            "gpuRuntimeClassName": "gvisor-nvproxy",
            "gpuNodeSelector": {"nvidia.com/gpu.present": "true"},
            "modelPvc": "evalpod-models",
            "modelSubpaths": {"llama": "meta/llama-3"},
        }
    },
    "no-runtime-class": {"evaluations": {"runtimeClass": {"name": ""}}},
    "egress-and-placement": {
        "evaluations": {
            "egressCidrs": ["10.0.0.0/8"],
            "seccompLocalhostProfile": "profiles/evalpod.json",
            "tolerations": [
                {
                    "key": "dedicated",
                    "operator": "Equal",
                    "value": "evalpod",
                    "effect": "NoSchedule",
                }
            ],
            "priorityClassName": "evalpod-jobs",
        },
        "config": {"EVALPOD_MAX_TIMEOUT_S": "7200"},
    },
    "bring-your-own-namespace": {
        "migrations": {"enabled": False},
        "evaluations": {"createNamespace": False, "defaultDenyNetworkPolicy": False},
        "imagePullSecrets": [{"name": "registry"}],
        "image": {"repository": "registry.test/evalpod", "tag": "@sha256:" + "a" * 64},
    },
}


def values_for(name: str) -> dict[str, Any]:
    return {**SECRET, **VALUE_SETS[name]}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    chart = helm.Chart.load(str(CHART))
    rendered = chart.render(values, name="evalpod", namespace="evalpod", is_install=True)
    documents: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        documents += [d for d in yaml.safe_load_all(text) if d]
    return documents


def by_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_helm_lint_is_clean(value_set: str) -> None:
    report = helm.lint(str(CHART), values_for(value_set), strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == []


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_rendered_manifest_validates(value_set: str) -> None:
    documents = render(values_for(value_set))
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def test_install_refuses_to_render_without_the_database_secret() -> None:
    with pytest.raises(Exception, match="existingSecret is required"):
        render({})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"config": {"EVALPOD_DATABASE_URL": "postgres://x"}}, "at '/config': 'not' failed"),
        ({"evaluations": {"namespace": "Bad NS", "image": {"repository": "r"}}}, "pattern"),
        (
            {"securityContext": {"allowPrivilegeEscalation": True, "readOnlyRootFilesystem": True}},
            "allowPrivilegeEscalation",
        ),
        ({"typo": 1}, "additional properties 'typo'"),
    ],
)
def test_values_schema_rejects_unsafe_or_unknown_values(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmValuesError, match=message):
        render({**SECRET, **values})


def _pod_specs(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    workloads = by_kind(documents, "Deployment") + by_kind(documents, "Job")
    return [w["spec"]["template"]["spec"] for w in workloads]


def test_service_pods_are_hardened_and_read_urls_from_the_secret() -> None:
    documents = render(values_for("defaults"))
    specs = _pod_specs(documents)
    assert len(specs) == 5  # four components + the migration hook
    for spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["enableServiceLinks"] is False
        (container,) = spec["containers"]
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert container["resources"]["limits"]
        env = {e["name"]: e for e in container["env"]}
        for key in ("EVALPOD_DATABASE_URL", "EVALPOD_REDIS_URL"):
            assert env[key]["valueFrom"]["secretKeyRef"]["name"] == "evalpod-urls"
            assert "value" not in env[key]


def test_no_default_credentials_anywhere() -> None:
    text = yaml.safe_dump_all(render(values_for("defaults"))).lower()
    for word in ("password", "passwd", "postgres://", "postgresql", "redis://"):
        assert word not in text


def test_components_run_their_commands_and_the_api_is_probed() -> None:
    deployments = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d
        for d in by_kind(render(values_for("defaults")), "Deployment")
    }
    assert set(deployments) == {"api", "validator", "orchestrator", "monitor"}
    for name in ("validator", "orchestrator", "monitor"):
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == [name]
    api = deployments["api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["args"][0] == "api"
    assert api["livenessProbe"]["httpGet"]["path"] == "/api/v1/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/api/v1/health"
    assert deployments["api"]["spec"]["replicas"] == 2


def test_migrations_are_a_pre_install_and_pre_upgrade_hook() -> None:
    (job,) = by_kind(render(values_for("defaults")), "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]


def test_evaluation_namespace_is_restricted_and_default_deny() -> None:
    documents = render(values_for("defaults"))
    (namespace,) = by_kind(documents, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    (policy,) = by_kind(documents, "NetworkPolicy")
    assert policy["metadata"]["namespace"] == "evalpod-jobs"
    assert policy["spec"]["podSelector"] == {}
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"] == [] and policy["spec"]["egress"] == []


def test_rbac_is_least_privilege_in_the_evaluation_namespace_only() -> None:
    documents = render(values_for("defaults"))
    assert by_kind(documents, "ClusterRole") == []
    assert by_kind(documents, "ClusterRoleBinding") == []
    roles = {r["metadata"]["name"]: r for r in by_kind(documents, "Role")}
    launcher = roles["evalpod-sandbox-launcher"]
    assert launcher["metadata"]["namespace"] == "evalpod-jobs"
    rules = {
        (g, res): set(rule["verbs"])
        for rule in launcher["rules"]
        for g in rule["apiGroups"]
        for res in rule["resources"]
    }
    assert rules == {
        ("batch", "jobs"): {"create", "delete", "get", "list", "watch", "patch"},
        ("", "pods"): {"delete", "get", "list", "watch"},
        ("", "pods/log"): {"get"},
        ("", "secrets"): {"create", "delete", "get", "list", "watch"},
        ("networking.k8s.io", "networkpolicies"): {"create", "delete", "get", "list", "watch"},
    }
    bindings = {b["metadata"]["name"]: b for b in by_kind(documents, "RoleBinding")}
    subjects = {s["name"] for s in bindings["evalpod-sandbox-launcher"]["subjects"]}
    assert subjects == {"evalpod-validator", "evalpod-orchestrator", "evalpod-monitor"}


def test_rendered_settings_reach_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    documents = render(values_for("gpu-gvisor") | {"config": {"EVALPOD_K8S_TMP_SIZE_MB": 128}})
    (orchestrator,) = [
        d
        for d in by_kind(documents, "Deployment")
        if d["metadata"]["name"] == "evalpod-orchestrator"
    ]
    for item in orchestrator["spec"]["template"]["spec"]["containers"][0]["env"]:
        if "value" in item:
            monkeypatch.setenv(item["name"], item["value"])
    options = ManifestOptions.from_settings(Settings())
    assert options.runtime_class == "gvisor"
    assert options.gpu_runtime_class == "gvisor-nvproxy"
    assert options.model_pvc == "evalpod-models"
    assert options.model_subpaths == {"llama": "meta/llama-3"}
    assert options.gpu_node_selector == {"nvidia.com/gpu.present": "true"}
    assert options.gpu_tolerations[0].key == "nvidia.com/gpu"
    assert options.image == "ghcr.io/evalpod/runtime:0.1.0"
    assert options.tmp_size_mb == 128
    (runtime_class,) = by_kind(documents, "RuntimeClass")
    assert runtime_class["handler"] == "runsc"


def test_kueue_mode_renders_its_queue_rbac_and_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kueue's own objects are checked by shape (its CRDs are not in the validator's
    schemas); everything else still validates against Kubernetes' schemas."""
    values = values_for("defaults") | {"evaluations": {"kueue": {
        "enabled": True, "clusterQueue": "evals",
        "quota": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"}}}}
    report = helm.lint(str(CHART), values, strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    documents = render(values)
    kueue = [d for d in documents if d["apiVersion"].startswith("kueue.x-k8s.io/")]
    for document in documents:
        if document not in kueue:
            kubernetes_validate.validate(document, K8S_VERSION, strict=True)
    (flavor,) = by_kind(kueue, "ResourceFlavor")
    (queue,) = by_kind(kueue, "ClusterQueue")
    assert queue["metadata"]["name"] == "evals"
    assert queue["spec"]["admissionScope"] == {"admissionMode": "UsageBasedAdmissionFairSharing"}
    assert queue["spec"]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "evalpod-jobs"}
    (group,) = queue["spec"]["resourceGroups"]
    assert group["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    (flavor_quota,) = group["flavors"]
    assert flavor_quota["name"] == flavor["metadata"]["name"]
    assert {r["name"]: r["nominalQuota"] for r in flavor_quota["resources"]} == {
        "cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"}
    launcher = {r["metadata"]["name"]: r for r in by_kind(documents, "Role")}[
        "evalpod-sandbox-launcher"]
    assert {"apiGroups": ["kueue.x-k8s.io"], "resources": ["localqueues"],
            "verbs": ["create", "get"]} in launcher["rules"]
    (orchestrator,) = [d for d in by_kind(documents, "Deployment")
                       if d["metadata"]["name"] == "evalpod-orchestrator"]
    for item in orchestrator["spec"]["template"]["spec"]["containers"][0]["env"]:
        if "value" in item:
            monkeypatch.setenv(item["name"], item["value"])
    assert ManifestOptions.from_settings(Settings()).kueue_cluster_queue == "evals"
