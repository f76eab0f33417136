"""Fixtures: the fake API server and a backend wired to it through the real client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from orchestrator.kubernetes.backend import KubernetesBackend
from orchestrator.kubernetes.manifests import ManifestOptions
from tests.kubernetes.fake_apiserver import FakeKubeAPI, PodScenario
from tests.kubernetes.support import NAMESPACE, api_client_for


@pytest.fixture
def fake_api() -> Iterator[FakeKubeAPI]:
    api = FakeKubeAPI().start()
    yield api
    api.stop()


@pytest.fixture
def make_backend(fake_api: FakeKubeAPI) -> Iterator[Callable[..., KubernetesBackend]]:
    made: list[KubernetesBackend] = []

    def make(scenario: PodScenario | None = None, **options: object) -> KubernetesBackend:
        if scenario is not None:
            fake_api.scenario = scenario
        backend = KubernetesBackend(
            api_client_for(fake_api.url),
            ManifestOptions.model_validate({"namespace": NAMESPACE, **options}),
            poll_interval_s=0.02,
            kill_timeout_s=5.0,
        )
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()
