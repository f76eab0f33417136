"""The shared sandbox conformance checks, run through the kubernetes backend.

The API server is the in-process fake; its kubelet really runs each pod's command
(bubblewrap + a cgroup standing in for the container runtime), so the checks
exercise the real manifests, log streaming, kill path and result hand-off.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.kubernetes.backend import KubernetesBackend
from orchestrator.kubernetes.manifests import ManifestOptions
from orchestrator.sandbox import SandboxBackend
from tests.kubernetes import process_kubelet
from tests.kubernetes.fake_apiserver import FakeKubeAPI
from tests.kubernetes.support import NAMESPACE, api_client_for
from tests.sandbox_conformance.checks import CHECKS, Check

pytestmark = pytest.mark.skipif(
    not process_kubelet.available(), reason="needs bubblewrap and writable cgroups"
)


@pytest.fixture
def backend() -> Iterator[SandboxBackend]:
    api = FakeKubeAPI(process_kubelet=True).start()
    backend = KubernetesBackend(
        api_client_for(api.url),
        ManifestOptions(namespace=NAMESPACE),
        poll_interval_s=0.05,
        kill_timeout_s=10.0,
    )
    yield backend
    backend.close()
    api.stop()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
async def test_conformance(check: Check, backend: SandboxBackend) -> None:
    await check(backend)
