"""Helpers shared by the kubernetes backend tests."""

from __future__ import annotations

from kubernetes import client

from orchestrator.sandbox import ResourceLimits, SandboxJob

NAMESPACE = "evalpod-jobs"


def api_client_for(url: str) -> client.ApiClient:
    configuration = client.Configuration(host=url)
    configuration.retries = 0
    return client.ApiClient(configuration)


def script_job(job_id: str = "eval-0001", **limits: object) -> SandboxJob:
    return SandboxJob(
        job_id=job_id,
        script="def evaluate_model(model):\n    return {'accuracy': 1.0}\n",
        limits=ResourceLimits.model_validate({"timeout_s": 30, "memory_mb": 512, **limits}),
    )
