"""Probes which isolation features work on this host (`evalpod doctor`), once per process."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache

from pydantic import BaseModel

from orchestrator.local.cgroups import REQUIRED_CONTROLLERS, detect_layout
from orchestrator.local.seccomp import seccomp_memfd

PROBE_TIMEOUT_S = 10.0
MINIMAL_ROOT: tuple[str, ...] = (
    "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64",
    "/lib64", "--symlink", "usr/bin", "/bin",
)  # fmt: skip


class Feature(BaseModel):
    name: str
    ok: bool
    required: bool
    detail: str = ""


class DoctorReport(BaseModel):
    bwrap_path: str | None
    bwrap_version: str | None
    features: list[Feature]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.features if f.required)

    def feature(self, name: str) -> Feature | None:
        return next((f for f in self.features if f.name == name), None)

    def missing(self) -> list[str]:
        return [f.name for f in self.features if f.required and not f.ok]


def find_bwrap(configured: str | None) -> str | None:
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap")


def _run(argv: list[str], pass_fds: tuple[int, ...] = ()) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, pass_fds=pass_fds
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return done.returncode == 0, (done.stdout + done.stderr).strip()[:300]


def _probe_userns(bwrap: str, help_text: str) -> Feature:
    extra = ["--disable-userns"] if "--disable-userns" in help_text else []
    ok, out = _run([bwrap, "--unshare-all", "--unshare-user", *extra, *MINIMAL_ROOT, "true"])
    return Feature(name="user_namespaces", ok=ok, required=True, detail=out or "bwrap ran")


def _probe_seccomp(bwrap: str) -> Feature:
    try:
        fd = seccomp_memfd()
    except (ImportError, OSError) as exc:
        return Feature(name="seccomp", ok=False, required=True, detail=f"libseccomp: {exc}")
    try:
        argv = [bwrap, "--unshare-all", "--unshare-user", *MINIMAL_ROOT, "--seccomp", str(fd)]
        ok, out = _run([*argv, "true"], pass_fds=(fd,))
    finally:
        os.close(fd)
    return Feature(name="seccomp", ok=ok, required=True, detail=out or "filter loaded")


def _probe_cgroups() -> list[Feature]:
    layout = detect_layout()
    controllers = sorted(layout.parents)
    features = [
        Feature(
            name="cgroups",
            ok=layout.usable,
            required=True,
            detail=f"{layout.version.value}; writable controllers: {', '.join(controllers)}",
        )
    ]
    for name in ("memory", "pids", "cpu", "freezer"):
        required = name in REQUIRED_CONTROLLERS
        ok = name in layout.parents
        features.append(Feature(name=f"cgroup_{name}", ok=ok, required=required))
    return features


def _probe_gpus() -> Feature:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return Feature(name="gpus", ok=False, required=False, detail="nvidia-smi not found")
    ok, out = _run([smi, "-L"])
    return Feature(name="gpus", ok=ok, required=False, detail=out)


def _probe_setpriv(bwrap: str) -> Feature:
    """Whether jobs can run as host uid 65534 (needs root and util-linux setpriv)."""
    name = "host_uid_drop"
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin")
    if os.geteuid() != 0 or setpriv is None:
        why = "service not root" if os.geteuid() != 0 else "setpriv not found"
        return Feature(name=name, ok=False, required=False, detail=f"{why}: user-namespace mode")
    caps = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
            "--cap-add", "CAP_SETPCAP"]  # fmt: skip
    drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--"]  # fmt: skip
    argv = [bwrap, "--unshare-pid", "--unshare-net", *caps, *MINIMAL_ROOT, *drop, "true"]
    ok, out = _run(argv)
    return Feature(name=name, ok=ok, required=False, detail=out or setpriv)


def setpriv_path(report: DoctorReport) -> str | None:
    feature = report.feature("host_uid_drop")
    return feature.detail if feature is not None and feature.ok else None


def _bwrap_features(bwrap: str) -> tuple[str | None, list[Feature]]:
    _, version = _run([bwrap, "--version"])
    full_help = subprocess.run(
        [bwrap, "--help"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
    ).stdout
    features = [
        Feature(name="bwrap", ok=True, required=True, detail=version),
        _probe_userns(bwrap, full_help),
        Feature(
            name="disable_userns",
            ok="--disable-userns" in full_help,
            required=False,
            detail="bwrap --disable-userns (nested user namespaces blocked)",
        ),
        Feature(
            name="tmpfs_size",
            ok="--size" in full_help,
            required=False,
            detail="bwrap --size (work dir capped in size)",
        ),
        _probe_seccomp(bwrap),
        _probe_setpriv(bwrap),
    ]
    return version or None, features


@lru_cache(maxsize=4)
def probe(bwrap_configured: str | None = None) -> DoctorReport:
    """Run every probe (tens of milliseconds); cached for the life of the process."""
    bwrap = find_bwrap(bwrap_configured)
    if bwrap is None:
        missing = Feature(name="bwrap", ok=False, required=True, detail="bubblewrap not found")
        return DoctorReport(
            bwrap_path=None,
            bwrap_version=None,
            features=[missing, *_probe_cgroups(), _probe_gpus()],
        )
    version, features = _bwrap_features(bwrap)
    return DoctorReport(
        bwrap_path=bwrap,
        bwrap_version=version,
        features=[*features, *_probe_cgroups(), _probe_gpus()],
    )
