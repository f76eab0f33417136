"""Kueue admits evaluation Jobs: one LocalQueue per tenant, weighted by its fair share.

Kueue itself cannot run here; the fake API server plays its one part evalpod relies on
(a suspended Job labelled with an existing LocalQueue is admitted). What is checked is
what evalpod sends: the queue objects, the labels, and the order of the requests.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from evalpod.settings import Settings
from orchestrator.kubernetes.backend import KubernetesBackend
from orchestrator.kubernetes.manifests import (
    KUEUE_QUEUE_LABEL,
    ManifestOptions,
    build_local_queue,
    build_manifests,
    kueue_labels,
    local_queue_name,
)
from orchestrator.sandbox import SandboxJob
from tests.kubernetes.fake_apiserver import FakeKubeAPI, PodScenario
from tests.kubernetes.support import NAMESPACE, script_job

MakeBackend = Callable[..., KubernetesBackend]
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def tenant_job(tenant: str, share: float | None = None, job_id: str = "eval-0001") -> SandboxJob:
    return script_job(job_id).model_copy(update={"tenant_id": tenant, "fair_share": share})


def test_without_kueue_nothing_changes() -> None:
    options = ManifestOptions(namespace=NAMESPACE)
    job = tenant_job("tenant-a")
    assert kueue_labels(job, options) == {}
    manifests = build_manifests(job, options)
    assert KUEUE_QUEUE_LABEL not in manifests.job["metadata"]["labels"]


def test_local_queue_per_tenant_weighted_by_share() -> None:
    options = ManifestOptions(namespace=NAMESPACE, kueue_cluster_queue="evalpod")
    queue = build_local_queue(tenant_job("Tenant_A" * 20, share=2.5), options)
    assert queue["kind"] == "LocalQueue" and queue["apiVersion"] == "kueue.x-k8s.io/v1beta1"
    assert DNS_1123.match(queue["metadata"]["name"])
    assert queue["metadata"]["namespace"] == NAMESPACE
    assert queue["spec"] == {"clusterQueue": "evalpod", "fairSharing": {"weight": "2.5"}}
    assert build_local_queue(tenant_job("b"), options)["spec"]["fairSharing"]["weight"] == "1"
    assert local_queue_name("a") != local_queue_name("b")
    # The Job is created without the label: Kueue must not see it before its Secret and
    # NetworkPolicy exist.
    job = tenant_job("a")
    assert KUEUE_QUEUE_LABEL not in build_manifests(job, options).job["metadata"]["labels"]
    assert kueue_labels(job, options) == {KUEUE_QUEUE_LABEL: local_queue_name("a")}


def test_settings_reach_the_options() -> None:
    settings = Settings(k8s_kueue_cluster_queue="evalpod-jobs")
    assert ManifestOptions.from_settings(settings).kueue_cluster_queue == "evalpod-jobs"


async def test_kueue_admits_the_job_evalpod_only_labels_it(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    backend = make_backend(PodScenario(result={"ok": True, "metrics": {"accuracy": 1.0}}),
                           kueue_cluster_queue="evalpod")

    async def sink(line: str) -> None:
        return None

    outcome = await asyncio.wait_for(backend.run(tenant_job("tenant-a", 3.0), sink), 30)
    assert outcome.status == "succeeded" and outcome.result == {"accuracy": 1.0}
    queues = fake_api.of_kind("localqueues")
    assert [q["metadata"]["name"] for q in queues] == [local_queue_name("tenant-a")]
    assert queues[0]["spec"]["fairSharing"]["weight"] == "3"
    assert len(fake_api.admitted) == 1
    writes = [(r.method, r.path.rsplit("/", 2)[-2] if r.method == "PATCH" else
               r.path.rsplit("/", 1)[-1], r.body) for r in fake_api.requests
              if r.method in ("POST", "PATCH")]
    kinds = [(method, kind) for method, kind, _ in writes]
    assert kinds[:5] == [("POST", "localqueues"), ("POST", "jobs"), ("POST", "secrets"),
                         ("POST", "networkpolicies"), ("PATCH", "jobs")]
    label_patch = writes[4][2]
    assert label_patch == {"metadata": {"labels": {KUEUE_QUEUE_LABEL:
                                                   local_queue_name("tenant-a")}}}
    # evalpod never resumes a Job itself when Kueue admits them.
    assert not any(body and body.get("spec", {}).get("suspend") is False
                   for _, _, body in writes)


async def test_an_existing_local_queue_is_reused(
    fake_api: FakeKubeAPI, make_backend: MakeBackend
) -> None:
    backend = make_backend(PodScenario(result={"ok": True, "metrics": {}}),
                           kueue_cluster_queue="evalpod")

    async def sink(line: str) -> None:
        return None

    for n in range(2):
        outcome = await asyncio.wait_for(
            backend.run(tenant_job("tenant-a", job_id=f"eval-{n}"), sink), 30)
        assert outcome.status == "succeeded"
    assert len(fake_api.of_kind("localqueues")) == 1
    assert len(fake_api.admitted) == 2
