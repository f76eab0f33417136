"""The backend's whole lifecycle, through the real client, against the fake API server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from evalpod.settings import Settings
from orchestrator.kubernetes.backend import KubernetesBackend
from orchestrator.kubernetes.client import Kind, KubeCluster
from orchestrator.kubernetes.manifests import ManifestOptions, build_manifests, object_name
from orchestrator.kubernetes.reconciler import OrphanReconciler, clean_orphans_from_settings
from orchestrator.sandbox import (
    ResultRejected,
    SandboxOutcome,
    SandboxUnavailable,
    ViolationKind,
)
from tests.kubernetes.fake_apiserver import FakeKubeAPI, PodScenario, RecordedRequest
from tests.kubernetes.support import NAMESPACE, api_client_for, script_job

MakeBackend = Callable[..., KubernetesBackend]


async def run_to_end(
    backend: KubernetesBackend, job_id: str = "eval-0001"
) -> tuple[SandboxOutcome, list[str]]:
    lines: list[str] = []

    async def sink(line: str) -> None:
        lines.append(line)

    outcome = await asyncio.wait_for(backend.run(script_job(job_id), sink), 30)
    return outcome, lines


def requests_of(fake: FakeKubeAPI, method: str, kind: str) -> list[Any]:
    return [r for r in fake.requests if r.method == method and f"/{kind}" in r.path]


async def test_success_streams_logs_and_collects_the_result(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    scenario = PodScenario(
        lines=["loading", "step 1/2", "step 2/2"],
        result={"ok": True, "metrics": {"accuracy": 0.75}},
    )
    outcome, lines = await run_to_end(make_backend(scenario))
    assert outcome.status == "succeeded"
    assert outcome.exit_code == 0
    assert outcome.result == {"accuracy": 0.75}
    assert lines == ["loading", "step 1/2", "step 2/2"]  # the result marker stays hidden
    assert fake_api.of_kind("jobs") == []
    assert fake_api.of_kind("secrets") == []
    assert fake_api.of_kind("networkpolicies") == []
    assert fake_api.of_kind("pods") == []


async def test_what_is_posted_is_hardened_and_ordered(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    await run_to_end(make_backend(PodScenario(result={"ok": True, "metrics": {}})))
    (job,) = fake_api.posted("jobs")
    assert job == build_manifests(script_job(), ManifestOptions(namespace=NAMESPACE)).job
    assert job["spec"]["suspend"] is True and job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"] == {"drop": ["ALL"]}
    (secret,) = fake_api.posted("secrets")
    (policy,) = fake_api.posted("networkpolicies")
    job_uid = next(r for r in fake_api.requests if r.method == "POST" and r.path.endswith("/jobs"))
    assert job_uid is not None
    for owned in (secret, policy):
        (ref,) = owned["metadata"]["ownerReferences"]
        assert ref["kind"] == "Job" and ref["name"] == job["metadata"]["name"]
        assert ref["uid"].startswith("uid-")
    assert policy["spec"]["egress"] == [] and policy["spec"]["ingress"] == []
    order = [
        (r.method, r.path.rsplit("/", 2)[-2:])
        for r in fake_api.requests
        if r.method in ("POST", "PATCH")
    ]
    assert [method for method, _ in order] == ["POST", "POST", "POST", "PATCH"]
    assert order[0][1][-1] == "jobs" and order[1][1][-1] == "secrets"
    assert order[2][1][-1] == "networkpolicies"
    (resume,) = requests_of(fake_api, "PATCH", "jobs")
    assert resume.body == {"spec": {"suspend": False}}
    assert resume.content_type == "application/merge-patch+json"


async def test_oom_killed_container_is_a_memory_violation(make_backend: MakeBackend) -> None:
    scenario = PodScenario(lines=["allocating"], exit_code=137, reason="OOMKilled")
    outcome, _ = await run_to_end(make_backend(scenario))
    assert outcome.status == "killed"
    assert outcome.violation is not None and outcome.violation.kind == ViolationKind.memory
    assert outcome.exit_code == -9


async def test_job_deadline_is_a_timeout_violation(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    outcome, lines = await run_to_end(make_backend(PodScenario(lines=["spin"], deadline=True)))
    assert outcome.status == "killed"
    assert outcome.violation is not None and outcome.violation.kind == ViolationKind.timeout
    assert "activeDeadlineSeconds" in outcome.violation.detail
    assert lines == ["spin"]
    assert fake_api.of_kind("jobs") == [] and fake_api.of_kind("pods") == []


async def test_emptydir_eviction_is_a_disk_violation(make_backend: MakeBackend) -> None:
    scenario = PodScenario(
        exit_code=137,
        evicted_message='Usage of EmptyDir volume "work" exceeds the limit "1Gi".'
        " Pod ephemeral local storage usage exceeds the total limit of containers.",
    )
    outcome, _ = await run_to_end(make_backend(scenario))
    assert outcome.violation is not None and outcome.violation.kind == ViolationKind.disk


async def test_a_container_that_cannot_start_fails_at_once(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    backend = make_backend(PodScenario(waiting_reason="CreateContainerConfigError"))
    outcome, lines = await run_to_end(backend)
    assert outcome.status == "failed"
    assert outcome.error is not None and "CreateContainerConfigError" in outcome.error
    assert outcome.duration_s < 5 and lines == []
    assert fake_api.of_kind("pods") == []


async def test_cancel_kills_the_pod_and_deletes_every_object(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    backend = make_backend(PodScenario(lines=["working"], hang=True))
    cancel = asyncio.Event()
    lines: list[str] = []

    async def sink(line: str) -> None:
        lines.append(line)
        cancel.set()

    outcome = await asyncio.wait_for(backend.run(script_job(), sink, cancel), 30)
    assert outcome.status == "cancelled"
    assert lines == ["working"]
    for kind in ("jobs", "pods", "secrets", "networkpolicies"):
        assert fake_api.of_kind(kind) == [], kind
    job_delete = requests_of(fake_api, "DELETE", "jobs")[0]
    assert job_delete.body["propagationPolicy"] == "Background"
    assert job_delete.body["gracePeriodSeconds"] == 1


async def test_kill_returns_only_once_the_pod_is_gone(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    backend = make_backend(PodScenario(hang=True))
    process = await backend.launch(script_job())
    while not fake_api.of_kind("pods") or not fake_api.of_kind("pods")[0]["status"].get(
        "containerStatuses"
    ):
        await asyncio.sleep(0.01)
    await process.kill()
    assert fake_api.of_kind("pods") == []
    assert await process.wait() is None
    await process.cleanup()
    assert fake_api.of_kind("secrets") == [] and fake_api.of_kind("networkpolicies") == []


async def test_missing_or_forged_results_are_rejected(make_backend: MakeBackend) -> None:
    outcome, _ = await run_to_end(make_backend(PodScenario(lines=["no result"])))
    assert outcome.status == "failed"
    backend = make_backend(PodScenario(raw_result_line="EVALPOD_RESULT !!!not-base64"))
    process = await backend.launch(script_job("eval-0002"))
    await process.wait()
    with pytest.raises(ResultRejected):
        await process.collect_result()
    await process.cleanup()


async def test_script_output_mimicking_the_marker_cannot_hide_unbounded_output(
    make_backend: MakeBackend,
) -> None:
    fake_line = "EVALPOD_RESULT " + "A" * 200_000
    scenario = PodScenario(lines=[fake_line, fake_line, "tail"], result={"ok": True, "metrics": {}})
    backend = make_backend(scenario)
    process = await backend.launch(script_job(max_result_bytes=1000))
    lines = [line async for line in process.output_lines()]
    # The first forged marker line uses up the hidden budget; the rest is output.
    assert sum(len(line) for line in lines) >= 190_000
    assert "tail" in lines
    await process.wait()
    await process.cleanup()


async def test_launch_failure_is_unavailable_and_leaves_nothing(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    backend = make_backend()
    clash = build_manifests(script_job(), ManifestOptions(namespace=NAMESPACE)).secret
    fake_api.put("secrets", clash)
    with pytest.raises(SandboxUnavailable, match="409"):
        await backend.launch(script_job())
    assert fake_api.of_kind("jobs") == []
    assert fake_api.of_kind("pods") == []


async def test_model_job_without_model_volume_is_unavailable(make_backend: MakeBackend) -> None:
    job = script_job().model_copy(update={"model_id": "llama", "model_path": Path("/m")})
    with pytest.raises(SandboxUnavailable, match="MODEL_PVC"):
        await make_backend().launch(job)


async def test_unreachable_api_server() -> None:
    backend = KubernetesBackend(
        api_client_for("http://127.0.0.1:9"), ManifestOptions(namespace=NAMESPACE)
    )
    try:
        health = await backend.health()
        assert health.ok is False
        with pytest.raises(SandboxUnavailable):
            await backend.launch(script_job())
    finally:
        backend.close()


async def test_health_reports_the_cluster(make_backend: MakeBackend) -> None:
    health = await make_backend().health()
    assert health.ok and health.detail["server_version"] == "v1.30.0-fake"


def _seed_orphan(fake: FakeKubeAPI, job_id: str) -> None:
    manifests = build_manifests(script_job(job_id), ManifestOptions(namespace=NAMESPACE))
    fake.put("secrets", manifests.secret)
    fake.put("networkpolicies", manifests.network_policy)
    job = dict(manifests.job)
    job["spec"] = {**job["spec"], "suspend": False}
    fake.create("jobs", NAMESPACE, job)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_orphan_reconciler_removes_only_dead_evaluations(
    fake_api: FakeKubeAPI, asynchronous: bool
) -> None:
    fake_api.scenario = PodScenario(hang=True)
    for job_id in ("live-1", "done-2", "unknown-3"):
        _seed_orphan(fake_api, job_id)
    fake_api.put(
        "secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "unrelated", "namespace": NAMESPACE},
        },
    )

    def is_live(evaluation_id: str) -> bool:
        return evaluation_id == "live-1"

    async def is_live_async(evaluation_id: str) -> bool:
        return is_live(evaluation_id)

    cluster = KubeCluster(api_client_for(fake_api.url), NAMESPACE)
    reconciler = OrphanReconciler(cluster, is_live_async if asynchronous else is_live)
    report = await reconciler.run_once()
    cluster.close()
    assert report.evaluation_ids == ["done-2", "unknown-3"]
    remaining = {
        o["metadata"]["name"]
        for kind in ("jobs", "secrets", "networkpolicies")
        for o in fake_api.of_kind(kind)
    }
    assert remaining == {object_name("live-1"), "unrelated"}
    assert {
        p["metadata"]["labels"]["evalpod.dev/evaluation-id"] for p in fake_api.of_kind("pods")
    } == {"live-1"}


class _Session:
    def __init__(self, statuses: dict[str, str]) -> None:
        self._statuses = statuses

    async def __aenter__(self) -> _Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def get(self, _model: object, key: str) -> Any:
        status = self._statuses.get(key)
        return None if status is None else type("Row", (), {"status": status})()


class _Database:
    def __init__(self, statuses: dict[str, str]) -> None:
        self.statuses = statuses

    def session(self) -> _Session:
        return _Session(self.statuses)


async def test_monitor_entry_point_reads_liveness_from_the_database(
    fake_api: FakeKubeAPI, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "fake",
                "clusters": [{"name": "fake", "cluster": {"server": fake_api.url}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                "users": [{"name": "fake", "user": {"token": "t"}}],
            }
        )
    )
    settings = Settings(k8s_in_cluster=False, k8s_kubeconfig=kubeconfig, k8s_namespace=NAMESPACE)
    fake_api.scenario = PodScenario(hang=True)
    for job_id in ("ev-run", "ev-run-trial", "ev-done", "ev-gone-trial"):
        _seed_orphan(fake_api, job_id)
    db = _Database({"ev-run": "executing", "ev-done": "succeeded"})
    report = await clean_orphans_from_settings(db, settings)
    assert report.evaluation_ids == ["ev-done", "ev-gone-trial"]
    assert {
        j["metadata"]["annotations"]["evalpod.dev/evaluation-id"] for j in fake_api.of_kind("jobs")
    } == {"ev-run", "ev-run-trial"}
    assert all(r.headers_authorization == "Bearer t" for r in fake_api.requests[-3:])


async def test_output_of_a_job_killed_before_anyone_followed_it_is_not_lost(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    scenario = PodScenario(lines=["fast", "done"], result={"ok": True, "metrics": {"x": 1}})
    process = await make_backend(scenario).launch(script_job())
    assert await process.wait() == 0
    await process.kill()
    assert fake_api.of_kind("pods") == []
    assert [line async for line in process.output_lines()] == ["fast", "done"]
    assert (await process.collect_result()).metrics == {"x": 1}
    await process.cleanup()


def _drop_first(fake: FakeKubeAPI, method: str) -> list[str]:
    """Close the connection without a response on the first `method` request."""
    dropped: list[str] = []

    def hook(request: RecordedRequest) -> None:
        if request.method == method and not dropped:
            dropped.append(request.path)
            raise ConnectionAbortedError("dropped by the test")

    fake.on_request = hook
    return dropped


async def test_reads_survive_one_dropped_connection(fake_api: FakeKubeAPI) -> None:
    dropped = _drop_first(fake_api, "GET")
    cluster = KubeCluster(api_client_for(fake_api.url), NAMESPACE)
    try:
        assert await cluster.list(Kind.pod, "app=none") == []
    finally:
        cluster.close()
    assert len(dropped) == 1
    assert sum(r.method == "GET" for r in fake_api.requests) == 2


async def test_creates_are_not_resent_after_a_dropped_connection(fake_api: FakeKubeAPI) -> None:
    dropped = _drop_first(fake_api, "POST")
    manifests = build_manifests(script_job("drop-1"), ManifestOptions(namespace=NAMESPACE))
    cluster = KubeCluster(api_client_for(fake_api.url), NAMESPACE)
    try:
        with pytest.raises(SandboxUnavailable):
            await cluster.create(Kind.secret, manifests.secret)
    finally:
        cluster.close()
    assert len(dropped) == 1
    assert sum(r.method == "POST" for r in fake_api.requests) == 1
