"""A run configuration that records the operating system it targets."""
# source: issue #11 false positive (a dataclass field named `os`)
# expect: accept EP108
from dataclasses import dataclass


@dataclass(frozen=True)
class RunInfo:
    os: str = "linux"
    shots: int = 0


def evaluate_model(model):
    info = RunInfo()
    return {"os_is_linux": float(info.os == "linux"), "shots": info.shots}
