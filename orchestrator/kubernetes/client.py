"""A small async facade over the official Kubernetes client, speaking plain dicts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from evalpod.settings import Settings
from orchestrator.sandbox import SandboxUnavailable

Manifest = dict[str, Any]

# Connection-level failures: the cluster is unreachable, not the request wrong.
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)
# A pooled keep-alive connection the server (or a load balancer) already closed: the
# request never reached a handler, so an idempotent call is safe to send again.
_STALE_CONNECTION_ERRORS = (urllib3.exceptions.ProtocolError, ConnectionResetError)


def _is_stale_connection(exc: BaseException) -> bool:
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        return isinstance(exc.reason, _STALE_CONNECTION_ERRORS)
    return isinstance(exc, _STALE_CONNECTION_ERRORS)


class Kind(StrEnum):
    job = "jobs"
    secret = "secrets"
    network_policy = "networkpolicies"
    pod = "pods"


def load_api_client(settings: Settings) -> k8s.ApiClient:
    """In-cluster service account when running in a pod, else the kubeconfig."""
    configuration = k8s.Configuration()
    in_cluster = settings.k8s_in_cluster
    if in_cluster is None:
        try:
            k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
            return k8s.ApiClient(configuration)
        except k8s_config.ConfigException:
            in_cluster = False
    if in_cluster:
        k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration
        )
    else:
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(settings.k8s_kubeconfig) if settings.k8s_kubeconfig else None,
            context=settings.k8s_context,
            client_configuration=configuration,
        )
    return k8s.ApiClient(configuration)


def _json(response: Any) -> Manifest:
    data: Manifest = json.loads(response.data)
    return data


class KubeCluster:
    """Namespaced create/get/list/delete for the kinds an evaluation uses.

    The official client is synchronous; each call runs in a worker thread so the
    event loop never blocks on the API server.
    """

    def __init__(self, api_client: k8s.ApiClient, namespace: str) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.core = k8s.CoreV1Api(api_client)
        self.batch = k8s.BatchV1Api(api_client)
        self.networking = k8s.NetworkingV1Api(api_client)
        self.custom = k8s.CustomObjectsApi(api_client)

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]

    async def _call(
        self, func: Callable[..., Any], *args: Any, idempotent: bool = True, **kwargs: Any
    ) -> Any:
        """Run one API call in a thread; transport failures become SandboxUnavailable.

        Idempotent calls (reads, deletes) are retried once on a stale pooled connection;
        creates and patches are not, since the first attempt may have been applied.
        """
        attempts = 2 if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                return await asyncio.to_thread(func, *args, **kwargs)
            except _TRANSPORT_ERRORS as exc:
                if attempt == attempts or not _is_stale_connection(exc):
                    raise SandboxUnavailable(f"Kubernetes API unreachable: {exc}") from exc
        raise AssertionError("unreachable")

    def _create_fn(self, kind: Kind) -> Callable[..., Any]:
        creators: dict[Kind, Callable[..., Any]] = {
            Kind.job: self.batch.create_namespaced_job,
            Kind.secret: self.core.create_namespaced_secret,
            Kind.network_policy: self.networking.create_namespaced_network_policy,
            Kind.pod: self.core.create_namespaced_pod,
        }
        return creators[kind]

    def _read_fn(self, kind: Kind) -> Callable[..., Any]:
        return {
            Kind.job: self.batch.read_namespaced_job,
            Kind.secret: self.core.read_namespaced_secret,
            Kind.network_policy: self.networking.read_namespaced_network_policy,
            Kind.pod: self.core.read_namespaced_pod,
        }[kind]

    def _list_fn(self, kind: Kind) -> Callable[..., Any]:
        return {
            Kind.job: self.batch.list_namespaced_job,
            Kind.secret: self.core.list_namespaced_secret,
            Kind.network_policy: self.networking.list_namespaced_network_policy,
            Kind.pod: self.core.list_namespaced_pod,
        }[kind]

    def _delete_fn(self, kind: Kind) -> Callable[..., Any]:
        return {
            Kind.job: self.batch.delete_namespaced_job,
            Kind.secret: self.core.delete_namespaced_secret,
            Kind.network_policy: self.networking.delete_namespaced_network_policy,
            Kind.pod: self.core.delete_namespaced_pod,
        }[kind]

    async def create(self, kind: Kind, body: Manifest) -> Manifest:
        response = await self._call(
            self._create_fn(kind), self.namespace, body, idempotent=False, _preload_content=False
        )
        return _json(response)

    async def get(self, kind: Kind, name: str) -> Manifest | None:
        try:
            response = await self._call(
                self._read_fn(kind), name, self.namespace, _preload_content=False
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return _json(response)

    async def list(self, kind: Kind, label_selector: str) -> list[Manifest]:
        response = await self._call(
            self._list_fn(kind),
            self.namespace,
            label_selector=label_selector,
            _preload_content=False,
        )
        items: list[Manifest] = _json(response).get("items") or []
        return items

    async def delete(self, kind: Kind, name: str, *, grace_period_s: int | None = None) -> bool:
        """Delete one object; False when it was already gone."""
        # Background: the Job object goes now and the GC removes its pods; callers
        # that must see the pods gone delete and poll them explicitly.
        body: Manifest = {"propagationPolicy": "Background"}
        if grace_period_s is not None:
            body["gracePeriodSeconds"] = grace_period_s
        try:
            await self._call(
                self._delete_fn(kind), name, self.namespace, body=body, _preload_content=False
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def ensure_local_queue(self, body: dict[str, Any]) -> None:
        """Create the tenant's Kueue LocalQueue unless it exists (its weight is then kept:
        an operator may have tuned it)."""
        group, version = body["apiVersion"].split("/")
        try:
            await self._call(self.custom.create_namespaced_custom_object, group, version,
                             self.namespace, "localqueues", body, idempotent=False,
                             _preload_content=False)
        except ApiException as exc:
            if exc.status != 409:
                raise

    async def label_job(self, name: str, labels: dict[str, str]) -> None:
        """Add labels to a Job (handing a suspended Job to Kueue, which then admits it)."""
        await self._call(
            self.batch.patch_namespaced_job,
            name,
            self.namespace,
            {"metadata": {"labels": labels}},
            _content_type="application/merge-patch+json",
            idempotent=False,
            _preload_content=False,
        )

    async def resume_job(self, name: str) -> None:
        await self._call(
            self.batch.patch_namespaced_job,
            name,
            self.namespace,
            {"spec": {"suspend": False}},
            _content_type="application/merge-patch+json",
            idempotent=False,
            _preload_content=False,
        )

    async def pod_log(
        self,
        pod: str,
        container: str,
        *,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
    ) -> bytes:
        response = await self._call(
            self.core.read_namespaced_pod_log,
            pod,
            self.namespace,
            container=container,
            tail_lines=tail_lines,
            limit_bytes=limit_bytes,
            _preload_content=False,
        )
        data: bytes = response.data
        return data

    async def follow_pod_log(self, pod: str, container: str) -> urllib3.HTTPResponse:
        """An open streaming response of the container's log; the caller closes it."""
        response: urllib3.HTTPResponse = await self._call(
            self.core.read_namespaced_pod_log,
            pod,
            self.namespace,
            container=container,
            follow=True,
            _preload_content=False,
        )
        return response

    async def server_version(self) -> Manifest:
        response = await self._call(
            k8s.VersionApi(self.api_client).get_code, _preload_content=False
        )
        return _json(response)
