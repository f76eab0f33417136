"""The docs name only settings that exist, document every Kubernetes setting, and their
example commands run as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from evalpod.cli import app
from evalpod.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
# Named in docs but not settings of the service, each for a reason.
NOT_SETTINGS = {
    "EVALPOD_URL": "read by client commands and the SDK",
    "EVALPOD_API_KEY": "read by client commands and the SDK",
    "EVALPOD_RESULT": "the result marker line in a pod's log",
    "EVALPOD_KEEP_RUNNING": "read by scripts/quickstart.sh",
    "EVALPOD_PORT": "read by evalpod up (its --port) and scripts/quickstart.sh",
    "EVALPOD_FUZZ_SEED": "read by tests/api/test_openapi_fuzz.py",
    "EVALPOD_FUZZ_EXAMPLES": "read by tests/api/test_openapi_fuzz.py",
}


def _named(text: str) -> set[str]:
    return set(re.findall(r"EVALPOD_[A-Z0-9_]*[A-Z0-9]", text))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_variable_a_doc_names_exists(doc: Path) -> None:
    fields = {f"EVALPOD_{name.upper()}" for name in Settings.model_fields}
    unknown = _named(doc.read_text()) - fields - set(NOT_SETTINGS)
    assert not unknown, f"{doc.name} names settings that do not exist: {sorted(unknown)}"


def test_kubernetes_doc_lists_every_kubernetes_setting() -> None:
    text = (ROOT / "docs" / "kubernetes.md").read_text()
    table = text[text.index("## Settings"):]
    named = _named(table)
    for name in Settings.model_fields:
        if name.startswith("k8s_"):
            assert f"EVALPOD_{name.upper()}" in named, name


@pytest.fixture
def clean_settings() -> object:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_manifests_example_runs_as_written(
    clean_settings: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "docs" / "kubernetes.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", text, re.S)
                 if "evalpod k8s manifests" in b)
    monkeypatch.delenv("EVALPOD_K8S_MODEL_PVC", raising=False)
    (tmp_path / "eval.py").write_text("def evaluate_model(model):\n    return {'a': 1}\n")
    monkeypatch.chdir(tmp_path)
    result = None
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            name, _, value = words[1].partition("=")
            monkeypatch.setenv(name, value)
            get_settings.cache_clear()
        elif words[:1] == ["evalpod"]:
            result = CliRunner().invoke(app, words[1:])
    assert result is not None and result.exit_code == 0, result.output if result else block
    kinds = [d["kind"] for d in yaml.safe_load_all(result.output) if d]
    assert kinds[0] == "Job"
