"""A stand-in kubelet that really runs the pod's container command on this host.

It mounts what the pod spec mounts (Secret files read-only at /job, emptyDirs at
/work, /tmp, /out, the harness at /opt/evalpod/harness, the host's Python as the
"image"), puts the process in a cgroup with the pod's memory limit, and reports the
container's exit like containerd does (OOMKilled when the cgroup saw an OOM kill).
Isolation (bubblewrap: read-only mounts, no network) stands in for the container
runtime; what it proves about evalpod is the backend and the result hand-off.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.local.cgroups import JobCgroup, detect_layout, join_cgroups
from orchestrator.sandbox import ResourceLimits

if TYPE_CHECKING:
    from tests.kubernetes.fake_apiserver import FakeKubeAPI

Obj = dict[str, Any]
HARNESS = Path(__file__).resolve().parents[2] / "sandbox_images" / "harness"
_PYTHON_HOME = Path(sys.base_prefix)


def available() -> bool:
    return shutil.which("bwrap") is not None and detect_layout().usable


def _memory_mb(container: Obj) -> int:
    memory: str = container["resources"]["limits"]["memory"]
    return int(memory.removesuffix("Mi"))


def _write_secret(api: FakeKubeAPI, namespace: str, pod: Obj, target: Path) -> None:
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == "job"]
    secret = api.objects[("secrets", namespace, volume["secret"]["secretName"])]
    target.mkdir()
    for name, data in secret["data"].items():
        (target / name).write_bytes(base64.b64decode(data))


def _bwrap(root: Path, container: Obj) -> list[str]:
    env = {e["name"]: e["value"] for e in container["env"]}
    env["PATH"] = f"{_PYTHON_HOME / 'bin'}:/usr/bin:/bin"
    command = [
        "bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--uid",
        "65532",
        "--gid",
        "65532",
        "--clearenv",
    ]
    for key, value in env.items():
        command += ["--setenv", key, value]
    command += [
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--ro-bind",
        "/etc",
        "/etc",
        "--ro-bind",
        str(_PYTHON_HOME),
        str(_PYTHON_HOME),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--ro-bind",
        str(HARNESS),
        "/opt/evalpod/harness",
        "--ro-bind",
        str(root / "job"),
        "/job",
        "--bind",
        str(root / "work"),
        "/work",
        "--bind",
        str(root / "tmp"),
        "/tmp",
        "--bind",
        str(root / "out"),
        "/out",
        "--chdir",
        container["workingDir"],
    ]
    user_command: list[str] = container["command"]
    return command + user_command


def run_pod(api: FakeKubeAPI, namespace: str, pod: Obj) -> tuple[int, str]:
    """Run the container to its end; its exit code and termination reason."""
    (container,) = pod["spec"]["containers"]
    name = pod["metadata"]["name"]
    root = Path(tempfile.mkdtemp(prefix="evalpod-fake-kubelet-"))
    for directory in ("work", "tmp", "out"):
        (root / directory).mkdir()
    _write_secret(api, namespace, pod, root / "job")
    limits = ResourceLimits(timeout_s=3600, memory_mb=_memory_mb(container), max_processes=256)
    cgroup = JobCgroup.create(detect_layout(), f"fake-kubelet-{name}", limits)
    try:
        process = subprocess.Popen(
            _bwrap(root, container),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: join_cgroups(cgroup.procs_files),
        )
        threading.Thread(
            target=_kill_when_deleted, args=(api, namespace, name, cgroup), daemon=True
        ).start()
        assert process.stdout is not None
        while chunk := os.read(process.stdout.fileno(), 65536):
            with api.cond:
                api.logs[name] += chunk
                api.cond.notify_all()
        code = process.wait()
        if code < 0:  # as a container runtime reports a signal death
            code = 128 - code
        oom = cgroup.oom_killed()
    finally:
        cgroup.kill_all()
        cgroup.remove()
        shutil.rmtree(root, ignore_errors=True)
    return code, "OOMKilled" if oom else ("Completed" if code == 0 else "Error")


def _kill_when_deleted(api: FakeKubeAPI, namespace: str, name: str, cgroup: JobCgroup) -> None:
    with api.cond:
        while ("pods", namespace, name) in api.objects and not api.stopping:
            api.cond.wait(0.05)
    with contextlib.suppress(OSError):
        cgroup.kill_all()
