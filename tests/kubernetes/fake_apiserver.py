"""An in-process stand-in for the Kubernetes API server: just the endpoints evalpod uses.

It plays the API server, the Job controller, the garbage collector and the kubelet
closely enough for the real `kubernetes` client to drive a whole evaluation, and it
records every request so tests can assert what was actually sent.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Obj = dict[str, Any]

_ROUTE = re.compile(
    r"^/(?:api/v1|apis/batch/v1|apis/networking\.k8s\.io/v1|apis/kueue\.x-k8s\.io/v1beta1)"
    r"/namespaces/(?P<ns>[^/]+)/"
    r"(?P<kind>jobs|secrets|networkpolicies|pods|localqueues)(?:/(?P<name>[^/]+))?"
    r"(?:/(?P<sub>log))?$"
)
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
_LIST_KIND = {
    "jobs": ("batch/v1", "JobList"),
    "secrets": ("v1", "SecretList"),
    "networkpolicies": ("networking.k8s.io/v1", "NetworkPolicyList"),
    "pods": ("v1", "PodList"),
    "localqueues": ("kueue.x-k8s.io/v1beta1", "LocalQueueList"),
}
RESULT_MARKER = "EVALPOD_RESULT "


@dataclass
class PodScenario:
    """What the simulated kubelet does with the evaluation's container."""

    lines: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    raw_result_line: str | None = None
    exit_code: int = 0
    reason: str | None = None
    line_delay_s: float = 0.01
    start_delay_s: float = 0.05
    hang: bool = False
    deadline: bool = False
    evicted_message: str | None = None
    waiting_reason: str | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    content_type: str | None
    headers_authorization: str | None = None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(code: int, reason: str, message: str) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure" if code >= 400 else "Success",
        "reason": reason,
        "message": message,
        "code": code,
    }


def _matches(obj: Obj, selector: str | None) -> bool:
    if not selector:
        return True
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


def _merge(target: Obj, patch: Obj) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = value


class FakeKubeAPI:
    """Thread-safe object store plus controller behaviour; `url` once started."""

    def __init__(
        self, scenario: PodScenario | None = None, *, process_kubelet: bool = False
    ) -> None:
        self.scenario = scenario or PodScenario()
        # True: pods really run (tests/kubernetes/process_kubelet.py); False: scripted.
        self.process_kubelet = process_kubelet
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.logs: dict[str, bytearray] = {}
        self.requests: list[RecordedRequest] = []
        self.cond = threading.Condition()
        self._uids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()
        self.on_request: Callable[[RecordedRequest], None] | None = None
        self.admitted: list[str] = []  # Jobs the simulated Kueue unsuspended
        self.kueue_capacity: int | None = None

    # -- server lifecycle -------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeKubeAPI:
        api = self

        class Handler(_Handler):
            fake = api

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self.cond:
            self.cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- queries for tests -------------------------------------------------------------

    def of_kind(self, kind: str) -> list[Obj]:
        with self.cond:
            return [copy.deepcopy(o) for (k, _, _), o in self.objects.items() if k == kind]

    def posted(self, kind: str) -> list[Obj]:
        return [r.body for r in self.requests if r.method == "POST" and r.path.endswith("/" + kind)]

    def put(self, kind: str, obj: Obj) -> Obj:
        """Seed an object directly (e.g. an orphan left by a crashed worker)."""
        with self.cond:
            return self._store(kind, obj["metadata"]["namespace"], copy.deepcopy(obj))

    # -- store -------------------------------------------------------------------------

    def _store(self, kind: str, namespace: str, obj: Obj) -> Obj:
        metadata = obj.setdefault("metadata", {})
        metadata.update(
            namespace=namespace,
            uid=f"uid-{next(self._uids)}",
            creationTimestamp=_now(),
            resourceVersion="1",
        )
        self.objects[(kind, namespace, metadata["name"])] = obj
        return obj

    def create(self, kind: str, namespace: str, body: Obj) -> tuple[int, Obj]:
        with self.cond:
            if (kind, namespace, body["metadata"]["name"]) in self.objects:
                return 409, _status(409, "AlreadyExists", "already exists")
            obj = self._store(kind, namespace, copy.deepcopy(body))
            if kind == "jobs":
                obj["status"] = {}
                if not obj["spec"].get("suspend"):
                    self._start_job(obj)
            return 201, copy.deepcopy(obj)

    def patch(self, kind: str, namespace: str, name: str, patch: Obj) -> tuple[int, Obj]:
        with self.cond:
            obj = self.objects.get((kind, namespace, name))
            if obj is None:
                return 404, _status(404, "NotFound", f"{kind} {name} not found")
            was_suspended = obj.get("spec", {}).get("suspend", False)
            _merge(obj, patch)
            if kind == "jobs" and was_suspended and self._kueue_admits(namespace, obj):
                obj["spec"]["suspend"] = False
                self.admitted.append(obj["metadata"]["name"])
            if kind == "jobs" and was_suspended and not obj["spec"].get("suspend"):
                self._start_job(obj)
            return 200, copy.deepcopy(obj)

    def _kueue_admits(self, namespace: str, job: Obj) -> bool:
        """Kueue's part, reduced to what evalpod relies on: a suspended Job labelled with an
        existing LocalQueue is admitted (unsuspended) while `kueue_capacity` allows."""
        queue = (job["metadata"].get("labels") or {}).get(KUEUE_QUEUE_LABEL)
        if queue is None or ("localqueues", namespace, queue) not in self.objects:
            return False
        return self.kueue_capacity is None or len(self.admitted) < self.kueue_capacity

    def delete(self, kind: str, namespace: str, name: str) -> tuple[int, Obj]:
        with self.cond:
            obj = self.objects.pop((kind, namespace, name), None)
            if obj is None:
                return 404, _status(404, "NotFound", f"{kind} {name} not found")
            self._collect_garbage(obj["metadata"]["uid"])
            if kind == "pods":
                self._container_gone(obj)
            self.cond.notify_all()
            return 200, _status(200, "", "deleted")

    def _collect_garbage(self, owner_uid: str) -> None:
        for key, obj in list(self.objects.items()):
            owners = obj["metadata"].get("ownerReferences") or []
            if any(ref.get("uid") == owner_uid for ref in owners):
                del self.objects[key]
                self._collect_garbage(obj["metadata"]["uid"])
                if key[0] == "pods":
                    self._container_gone(obj)

    def _container_gone(self, pod: Obj) -> None:
        pod["metadata"]["deletionTimestamp"] = _now()

    # -- the Job controller and the kubelet --------------------------------------------

    def _start_job(self, job: Obj) -> None:
        template = copy.deepcopy(job["spec"]["template"])
        name = f"{job['metadata']['name']}-{next(self._uids):05d}"
        labels = {**template["metadata"].get("labels", {}), "batch.kubernetes.io/job-name": name}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "labels": labels,
                "annotations": template["metadata"].get("annotations", {}),
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": job["metadata"]["name"],
                        "uid": job["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": template["spec"],
            "status": {"phase": "Pending"},
        }
        stored = self._store("pods", job["metadata"]["namespace"], pod)
        self.logs[name] = bytearray()
        threading.Thread(
            target=self._kubelet, args=(job["metadata"]["namespace"], job, stored), daemon=True
        ).start()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _alive(self, namespace: str, pod_name: str) -> bool:
        return ("pods", namespace, pod_name) in self.objects and not self._stopping.is_set()

    def _kubelet(self, namespace: str, job: Obj, pod: Obj) -> None:
        scenario = self.scenario
        name = pod["metadata"]["name"]
        time.sleep(scenario.start_delay_s)
        with self.cond:
            if not self._alive(namespace, name):
                return
            if scenario.waiting_reason is not None:
                waiting = {"reason": scenario.waiting_reason, "message": "secret not found"}
                pod["status"]["containerStatuses"] = [
                    {"name": "harness", "state": {"waiting": waiting}}
                ]
                return
            pod["status"] = {
                "phase": "Running",
                "containerStatuses": [{"name": "harness", "state": {"running": {}}}],
            }
        if self.process_kubelet:
            self._run_process(namespace, job, pod)
            return
        for line in scenario.lines:
            self._append_log(name, line)
            time.sleep(scenario.line_delay_s)
        if scenario.hang or scenario.deadline:
            self._hang_until_deleted(namespace, job, pod)
            return
        if scenario.raw_result_line is not None:
            self._append_log(name, scenario.raw_result_line)
        elif scenario.result is not None:
            encoded = base64.b64encode(json.dumps(scenario.result).encode()).decode()
            self._append_log(name, RESULT_MARKER + encoded)
        self._terminate(job, pod, scenario)

    def _run_process(self, namespace: str, job: Obj, pod: Obj) -> None:
        from tests.kubernetes.process_kubelet import run_pod

        code, reason = run_pod(self, namespace, pod)
        self._terminate(job, pod, PodScenario(exit_code=code, reason=reason))

    def _append_log(self, pod_name: str, line: str) -> None:
        with self.cond:
            self.logs[pod_name] += (line + "\n").encode()
            self.cond.notify_all()

    def _hang_until_deleted(self, namespace: str, job: Obj, pod: Obj) -> None:
        deadline = time.monotonic() + (0.3 if self.scenario.deadline else 3600)
        with self.cond:
            while self._alive(namespace, pod["metadata"]["name"]):
                if time.monotonic() > deadline:
                    self._exceed_deadline(namespace, job, pod)
                    return
                self.cond.wait(0.05)

    def _exceed_deadline(self, namespace: str, job: Obj, pod: Obj) -> None:
        """activeDeadlineSeconds passed: the controller fails the Job and deletes the pod."""
        job["status"] = {
            "failed": 1,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "DeadlineExceeded",
                    "message": "Job was active longer than specified deadline",
                }
            ],
        }
        pod["status"]["containerStatuses"][0]["state"] = {
            "terminated": {"exitCode": 137, "reason": "Error"}
        }
        self.objects.pop(("pods", namespace, pod["metadata"]["name"]), None)
        self._container_gone(pod)
        self.cond.notify_all()

    def _terminate(self, job: Obj, pod: Obj, scenario: PodScenario) -> None:
        with self.cond:
            reason = scenario.reason or ("Completed" if scenario.exit_code == 0 else "Error")
            succeeded = scenario.exit_code == 0 and scenario.evicted_message is None
            pod["status"]["phase"] = "Succeeded" if succeeded else "Failed"
            pod["status"]["containerStatuses"][0]["state"] = {
                "terminated": {"exitCode": scenario.exit_code, "reason": reason}
            }
            if scenario.evicted_message is not None:
                pod["status"].update(reason="Evicted", message=scenario.evicted_message)
            job["status"] = {
                "succeeded" if succeeded else "failed": 1,
                "conditions": [
                    {
                        "type": "Complete" if succeeded else "Failed",
                        "status": "True",
                        "reason": "Completed" if succeeded else "BackoffLimitExceeded",
                    }
                ],
            }
            self.cond.notify_all()

    # -- logs --------------------------------------------------------------------------

    def container_started(self, namespace: str, name: str) -> bool | None:
        with self.cond:
            pod = self.objects.get(("pods", namespace, name))
            if pod is None:
                return None
            state = (pod["status"].get("containerStatuses") or [{}])[0].get("state", {})
            return "running" in state or "terminated" in state

    def log_finished(self, namespace: str, name: str) -> bool:
        pod = self.objects.get(("pods", namespace, name))
        if pod is None or self._stopping.is_set():
            return True
        state = pod["status"].get("containerStatuses", [{}])[0].get("state", {})
        return "terminated" in state


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKubeAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _record(self) -> tuple[RecordedRequest, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        parts = urlsplit(self.path)
        request = RecordedRequest(
            self.command,
            parts.path,
            parse_qs(parts.query),
            body,
            self.headers.get("Content-Type"),
            self.headers.get("Authorization"),
        )
        self.fake.requests.append(request)
        if self.fake.on_request is not None:
            self.fake.on_request(request)
        return request, body

    def _send(
        self, code: int, payload: Obj | bytes, content_type: str = "application/json"
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[RecordedRequest, Any, re.Match[str] | None]:
        request, body = self._record()
        return request, body, _ROUTE.match(request.path)

    def do_GET(self) -> None:
        request, _, match = self._route()
        if request.path.rstrip("/") == "/version":
            self._send(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake"})
            return
        if match is None:
            self._send(404, _status(404, "NotFound", request.path))
            return
        ns, kind, name, sub = match["ns"], match["kind"], match["name"], match["sub"]
        if sub == "log":
            self._log(ns, name, request.query)
        elif name is None:
            self._list(ns, kind, request.query)
        else:
            with self.fake.cond:
                obj = copy.deepcopy(self.fake.objects.get((kind, ns, name)))
            if obj is None:
                self._send(404, _status(404, "NotFound", f"{kind} {name} not found"))
            else:
                self._send(200, obj)

    def _list(self, ns: str, kind: str, query: dict[str, list[str]]) -> None:
        selector = next(iter(query.get("labelSelector", [])), None)
        with self.fake.cond:
            items = [
                copy.deepcopy(o)
                for (k, n, _), o in self.fake.objects.items()
                if k == kind and n == ns and _matches(o, selector)
            ]
        api_version, list_kind = _LIST_KIND[kind]
        self._send(
            200,
            {"apiVersion": api_version, "kind": list_kind, "metadata": {}, "items": items},
        )

    def _log(self, ns: str, name: str, query: dict[str, list[str]]) -> None:
        started = self.fake.container_started(ns, name)
        if started is None:
            self._send(404, _status(404, "NotFound", f"pod {name} not found"))
            return
        if not started:
            self._send(400, _status(400, "BadRequest", "container is waiting to start"))
            return
        if (query.get("follow") or ["false"])[0] == "true":
            self._follow(ns, name)
            return
        with self.fake.cond:
            data = bytes(self.fake.logs.get(name, b""))
        tail = next(iter(query.get("tailLines", [])), None)
        if tail is not None:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-int(tail) :])
        self._send(200, data, "text/plain")

    def _follow(self, ns: str, name: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        # The stream ends by closing; say so, or the client pools a dead connection.
        self.send_header("Connection", "close")
        self.end_headers()
        offset = 0
        while True:
            with self.fake.cond:
                data = bytes(self.fake.logs.get(name, b"")[offset:])
                finished = self.fake.log_finished(ns, name)
                if not data and not finished:
                    self.fake.cond.wait(0.05)
                    continue
            if data:
                offset += len(data)
                try:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                except OSError:
                    return
            if finished and not data:
                break
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def do_POST(self) -> None:
        request, body, match = self._route()
        if match is None or match["name"] is not None:
            self._send(404, _status(404, "NotFound", request.path))
            return
        self._send(*self.fake.create(match["kind"], match["ns"], body))

    def do_PATCH(self) -> None:
        _, body, match = self._route()
        assert match is not None and match["name"] is not None
        self._send(*self.fake.patch(match["kind"], match["ns"], match["name"], body))

    def do_DELETE(self) -> None:
        _, _, match = self._route()
        assert match is not None and match["name"] is not None
        self._send(*self.fake.delete(match["kind"], match["ns"], match["name"]))
