"""The `kubernetes` sandbox backend: each evaluation is one hardened, suspended-then-resumed Job."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from evalpod.settings import Settings, get_settings
from orchestrator.kubernetes.client import Kind, KubeCluster, Manifest, load_api_client
from orchestrator.kubernetes.logs import LogLineSplitter, marker_budget, parse_result
from orchestrator.kubernetes.manifests import (
    CONTAINER_NAME,
    EvaluationManifests,
    ManifestOptions,
    MissingModelVolume,
    active_deadline_s,
    build_local_queue,
    build_manifests,
    kueue_labels,
    label_selector,
    object_name,
    with_owner,
)
from orchestrator.sandbox import (
    BackendHealth,
    HarnessResult,
    ResourceUsage,
    ResultRejected,
    SandboxBackend,
    SandboxError,
    SandboxJob,
    SandboxProcess,
    SandboxUnavailable,
    Violation,
    ViolationKind,
)

logger = logging.getLogger(__name__)

_TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
# Container states the kubelet never recovers from; image pull errors are retried
# with back-off and may heal, so those run into the deadline instead.
_FATAL_WAITING = frozenset(
    {"InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}
)
_RESULT_TAIL_LINES = 8
# A pod gets this long to stop before the API object goes; 0 would remove the object
# at once while the kubelet may still be killing the container ("force delete").
_KILL_GRACE_S = 1


def _container_status(pod: Manifest | None) -> Manifest:
    if pod is None:
        return {}
    for status in pod.get("status", {}).get("containerStatuses") or []:
        if status.get("name") == CONTAINER_NAME:
            found: Manifest = status
            return found
    return {}


def _terminated(pod: Manifest | None) -> Manifest | None:
    state: Manifest | None = _container_status(pod).get("state", {}).get("terminated")
    return state


def _fatal_start_error(pod: Manifest | None) -> str | None:
    waiting: Manifest = _container_status(pod).get("state", {}).get("waiting") or {}
    if waiting.get("reason") in _FATAL_WAITING:
        return f"{waiting['reason']}: {waiting.get('message', '')}".strip()
    return None


def _pod_phase(pod: Manifest | None) -> str | None:
    return None if pod is None else pod.get("status", {}).get("phase")


def _job_condition_reasons(job: Manifest | None) -> set[str]:
    if job is None:
        return set()
    conditions = job.get("status", {}).get("conditions") or []
    return {c.get("reason", "") for c in conditions if c.get("status") == "True"}


def _job_finished(job: Manifest | None) -> bool:
    if job is None:
        return True
    conditions = job.get("status", {}).get("conditions") or []
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions
    )


def _exit_code(pod: Manifest | None) -> int | None:
    terminated = _terminated(pod)
    if terminated is None or terminated.get("exitCode") is None:
        return None
    code = int(terminated["exitCode"])
    # The shell convention 128+N for "killed by signal N", mapped to the contract's -N.
    return -(code - 128) if 128 < code < 160 else code


def _violation_from(
    pod: Manifest | None, job: Manifest | None, deadline_s: int
) -> Violation | None:
    terminated = _terminated(pod) or {}
    if terminated.get("reason") == "OOMKilled":
        return Violation(
            kind=ViolationKind.memory, detail="container OOMKilled at its memory limit"
        )
    status = (pod or {}).get("status", {})
    if status.get("reason") == "Evicted" and "ephemeral" in status.get("message", "").lower():
        return Violation(kind=ViolationKind.disk, detail=status.get("message", "evicted"))
    if status.get("reason") == "DeadlineExceeded" or "DeadlineExceeded" in _job_condition_reasons(
        job
    ):
        return Violation(
            kind=ViolationKind.timeout, detail=f"Job activeDeadlineSeconds={deadline_s} exceeded"
        )
    return None


class KubernetesProcess(SandboxProcess):
    """One evaluation's Job, followed through the API until it is gone."""

    def __init__(
        self,
        job: SandboxJob,
        cluster: KubeCluster,
        options: ManifestOptions,
        *,
        poll_interval_s: float = 1.0,
        kill_timeout_s: float = 120.0,
    ) -> None:
        self.job = job
        self.name = object_name(job.job_id)
        self._cluster = cluster
        self._options = options
        self._selector = label_selector(job)
        self._poll_s = poll_interval_s
        self._kill_timeout_s = kill_timeout_s
        self._pod: Manifest | None = None
        self._job_object: Manifest | None = None
        self._refreshed_at = float("-inf")
        self._result_tail: bytes | None = None
        self._final_log: bytes | None = None
        self._stream_opened = False
        self._start_error: str | None = None
        self._streams: set[urllib3.HTTPResponse] = set()

    async def _refresh(self) -> tuple[Manifest | None, Manifest | None]:
        """Current Job and pod; the last ones seen are kept for after deletion."""
        job = await self._cluster.get(Kind.job, self.name)
        pods = await self._cluster.list(Kind.pod, self._selector)
        pod = pods[0] if pods else None
        if job is not None:
            self._job_object = job
        if pod is not None:
            self._pod = pod
        self._refreshed_at = time.monotonic()
        return job, pod

    async def _refresh_if_stale(self) -> None:
        # The monitor asks for violations many times a second; the API server
        # should see at most one status read per poll interval per evaluation.
        if time.monotonic() - self._refreshed_at >= self._poll_s:
            with contextlib.suppress(SandboxError, ApiException):
                await self._refresh()

    async def _logs_readable(self) -> str | None:
        """Wait until the container has started (or ended); its pod's name, or None if never."""
        while True:
            job, pod = await self._refresh()
            state = _container_status(pod).get("state", {})
            if pod is not None and ("running" in state or "terminated" in state):
                name: str = pod["metadata"]["name"]
                return name
            if (pod is None and _job_finished(job)) or _pod_phase(pod) in _TERMINAL_PHASES:
                return None
            await asyncio.sleep(self._poll_s)

    async def _open_log_stream(self) -> urllib3.HTTPResponse | None:
        pod_name = await self._logs_readable()
        if pod_name is None:
            return None
        try:
            response = await self._cluster.follow_pod_log(pod_name, CONTAINER_NAME)
        except ApiException as exc:
            if exc.status in (400, 404):  # gone (killed after exit) before we got here
                return None
            raise
        self._stream_opened = True
        self._streams.add(response)
        return response

    async def output_lines(self) -> AsyncIterator[str]:
        splitter = LogLineSplitter(marker_budget(self.job.limits.max_result_bytes))
        response = await self._open_log_stream()
        if response is None:
            # kill() saved the log of a job that ended before anyone followed it.
            for line in splitter.feed(self._final_log or b"") + splitter.flush():
                yield line
            return
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        pump = threading.Thread(
            target=_pump_stream, args=(response, queue, asyncio.get_running_loop()), daemon=True
        )
        pump.start()
        try:
            while (chunk := await queue.get()) is not None:
                for line in splitter.feed(chunk):
                    yield line
            for line in splitter.flush():
                yield line
        finally:
            self._close_stream(response)

    def _close_stream(self, response: urllib3.HTTPResponse) -> None:
        self._streams.discard(response)
        with contextlib.suppress(Exception):
            response.close()

    async def wait(self) -> int | None:
        while True:
            job, pod = await self._refresh()
            if _pod_phase(pod) in _TERMINAL_PHASES:
                return _exit_code(pod)
            if pod is None and _job_finished(job):
                return _exit_code(self._pod)
            if (error := _fatal_start_error(pod)) is not None:
                self._start_error = error
                return None
            await asyncio.sleep(self._poll_s)

    async def kill(self) -> None:
        """Delete the Job and its pod; a finished container's result is read first.

        The monitor kills after every exit (to reap leftovers), so the log holding
        the result must be saved before the pod goes.
        """
        with contextlib.suppress(SandboxError, ApiException):
            await self._refresh()
        if _terminated(self._pod) is not None:
            with contextlib.suppress(SandboxError, ApiException):
                await self._save_finished_log()
        await self._cluster.delete(Kind.job, self.name, grace_period_s=_KILL_GRACE_S)
        deadline = time.monotonic() + self._kill_timeout_s
        while pods := await self._cluster.list(Kind.pod, self._selector):
            if time.monotonic() > deadline:
                raise SandboxError(f"pods of {self.name} still present after kill")
            for pod in pods:
                if not pod["metadata"].get("deletionTimestamp"):
                    await self._cluster.delete(
                        Kind.pod, pod["metadata"]["name"], grace_period_s=_KILL_GRACE_S
                    )
            await asyncio.sleep(self._poll_s)

    async def usage(self) -> ResourceUsage:
        # Memory, pids and disk are enforced by the pod's limits and the kubelet;
        # metrics-server data lags too much to act on.
        return ResourceUsage()

    async def observed_violation(self) -> Violation | None:
        await self._refresh_if_stale()
        return _violation_from(
            self._pod, self._job_object, active_deadline_s(self.job, self._options)
        )

    async def _read_result_tail(self) -> bytes:
        assert self._pod is not None
        return await self._cluster.pod_log(
            self._pod["metadata"]["name"], CONTAINER_NAME, tail_lines=_RESULT_TAIL_LINES
        )

    async def _save_finished_log(self) -> None:
        """Keep what the API can only serve while the pod exists: the result, and the
        whole log if nobody has started following it yet."""
        assert self._pod is not None
        if self._result_tail is None:
            self._result_tail = await self._read_result_tail()
        if not self._stream_opened and self._final_log is None:
            limits = self.job.limits
            self._final_log = await self._cluster.pod_log(
                self._pod["metadata"]["name"],
                CONTAINER_NAME,
                limit_bytes=limits.max_output_bytes + marker_budget(limits.max_result_bytes),
            )

    async def collect_result(self) -> HarnessResult:
        if self._start_error is not None:
            raise ResultRejected(f"the evaluation container could not start: {self._start_error}")
        if self._result_tail is None:
            if self._pod is None:
                raise ResultRejected("the evaluation pod never started")
            try:
                self._result_tail = await self._read_result_tail()
            except ApiException as exc:
                raise ResultRejected(f"pod log unavailable: {exc.status} {exc.reason}") from exc
        return parse_result(self._result_tail, self.job.limits.max_result_bytes)

    async def cleanup(self) -> None:
        for response in list(self._streams):
            self._close_stream(response)
        await self._cluster.delete(Kind.job, self.name, grace_period_s=_KILL_GRACE_S)
        await self._cluster.delete(Kind.secret, self.name)
        await self._cluster.delete(Kind.network_policy, self.name)


def _pump_stream(
    response: urllib3.HTTPResponse,
    queue: asyncio.Queue[bytes | None],
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Thread body: the sync client's log stream into the event loop's queue."""
    try:
        for chunk in response.stream(64 * 1024, decode_content=True):
            loop.call_soon_threadsafe(queue.put_nowait, chunk)
    except Exception as exc:
        logger.debug("log stream ended: %s", exc)
    finally:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(queue.put_nowait, None)


class KubernetesBackend(SandboxBackend):
    """Runs each job as a Job in `options.namespace`, under gVisor by default."""

    name = "kubernetes"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        options: ManifestOptions,
        *,
        poll_interval_s: float = 1.0,
        kill_timeout_s: float = 120.0,
    ) -> None:
        self.options = options
        self.cluster = KubeCluster(api_client, options.namespace)
        self._poll_s = poll_interval_s
        self._kill_timeout_s = kill_timeout_s

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> KubernetesBackend:
        settings = settings or get_settings()
        try:
            api_client = load_api_client(settings)
        except Exception as exc:
            raise SandboxUnavailable(f"no Kubernetes configuration: {exc}") from exc
        return cls(
            api_client,
            ManifestOptions.from_settings(settings),
            poll_interval_s=settings.k8s_poll_interval_s,
            kill_timeout_s=settings.k8s_kill_timeout_s,
        )

    async def launch(self, job: SandboxJob) -> KubernetesProcess:
        try:
            manifests = build_manifests(job, self.options)
        except MissingModelVolume as exc:
            raise SandboxUnavailable(str(exc)) from exc
        try:
            await self._apply(manifests, job)
        except ApiException as exc:
            raise SandboxUnavailable(
                f"Kubernetes refused the evaluation: {exc.status} {exc.reason}: {_api_message(exc)}"
            ) from exc
        return KubernetesProcess(
            job,
            self.cluster,
            self.options,
            poll_interval_s=self._poll_s,
            kill_timeout_s=self._kill_timeout_s,
        )

    async def _apply(self, manifests: EvaluationManifests, job: SandboxJob) -> None:
        """Job first (suspended) for its uid, then the owned objects, then resume it.

        With Kueue, the Job is handed to the tenant's LocalQueue instead of resumed: the
        queue-name label is added only now, so Kueue cannot admit it before its Secret and
        NetworkPolicy exist."""
        queue_labels = kueue_labels(job, self.options)
        if queue_labels:
            await self.cluster.ensure_local_queue(build_local_queue(job, self.options))
        created = await self.cluster.create(Kind.job, manifests.job)
        name: str = created["metadata"]["name"]
        try:
            uid: str = created["metadata"]["uid"]
            await self.cluster.create(Kind.secret, with_owner(manifests.secret, name, uid))
            await self.cluster.create(
                Kind.network_policy, with_owner(manifests.network_policy, name, uid)
            )
            if queue_labels:
                await self.cluster.label_job(name, queue_labels)
            else:
                await self.cluster.resume_job(name)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.cluster.delete(Kind.job, name)
            raise

    def close(self) -> None:
        """Release the client's connection pool."""
        self.cluster.close()

    async def health(self) -> BackendHealth:
        try:
            version = await self.cluster.server_version()
            await self.cluster.list(Kind.job, "app.kubernetes.io/managed-by=evalpod")
        except (SandboxError, ApiException) as exc:
            return BackendHealth(ok=False, backend=self.name, detail={"error": str(exc)})
        return BackendHealth(
            ok=True,
            backend=self.name,
            detail={
                "server_version": version.get("gitVersion"),
                "namespace": self.options.namespace,
                "runtime_class": self.options.runtime_class,
            },
        )


def _api_message(exc: ApiException) -> Any:
    try:
        return json.loads(exc.body or "{}").get("message", exc.body)
    except ValueError:
        return exc.body
