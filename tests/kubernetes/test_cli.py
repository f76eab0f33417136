"""`evalpod k8s manifests` prints schema-valid YAML for one evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from evalpod.cli import app
from evalpod.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "eval.py"
    path.write_text("def evaluate_model(model):\n    return {'accuracy': 1.0}\n")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["k8s", "manifests", *args])
    return result.exit_code, result.output


def test_manifests_for_a_gpu_job(script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALPOD_K8S_MODEL_PVC", "evalpod-models")
    code, output = run("--script", str(script), "--model", "llama", "--gpus", "2")
    assert code == 0, output
    documents = list(yaml.safe_load_all(output))
    assert [d["kind"] for d in documents] == ["Job", "Secret", "NetworkPolicy"]
    for document in documents:
        kubernetes_validate.validate(document, "1.30.0", strict=True)
    container = documents[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_manifests_for_the_stub_model_need_no_volume(script: Path) -> None:
    code, output = run("--script", str(script), "--model", "stub")
    assert code == 0, output
    job = next(yaml.safe_load_all(output))
    assert all(v["name"] != "model" for v in job["spec"]["template"]["spec"]["volumes"])


def test_manifests_without_model_volume_fail_clearly(script: Path) -> None:
    code, output = run("--script", str(script), "--model", "llama")
    assert code == 1
    assert "EVALPOD_K8S_MODEL_PVC" in output
