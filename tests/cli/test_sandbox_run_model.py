"""`evalpod models add` builds the shadow; `evalpod sandbox run --model M [--shadow]` loads a
registered model or its shadow (#11). The real CLI in subprocesses, the real sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from evalpod.cli import main; main()"]
WIDTH = """
def evaluate_model(model):
    enc = model.tokenizer(["The capital of France is"], return_tensors="pt")
    logits = model.model(**enc).logits
    return {"width": model.model.config.n_embd, "vocab": int(logits.shape[-1])}
"""


def run_cli(env: dict[str, str], *args: str, timeout: float = 600
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path
         ) -> tuple[dict[str, str], Path]:
    """A fresh EVALPOD_HOME (SQLite) with tiny-gpt2 registered through `models add`."""
    root = tmp_path_factory.mktemp("cli-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env["EVALPOD_HOME"] = str(root / "home")
    model = Path(shutil.copytree(tiny_model_dir, root / "tiny"))
    assert run_cli(env, "db", "upgrade").returncode == 0
    added = run_cli(env, "models", "add", str(model), "--name", "tiny")
    assert added.returncode == 0, added.stderr
    # Before, only "tiny", after a silent wait while the shadow was built.
    assert added.stdout.startswith("registered model tiny (GPT2LMHeadModel, "), added.stdout
    assert "evaluate it: evalpod submit SCRIPT --model tiny" in added.stdout
    assert "building its trial model" in added.stderr and "-- done in " in added.stderr
    return env, root


def test_models_add_builds_the_shadow(home: tuple[dict[str, str], Path]) -> None:
    env, _ = home
    shadow = Path(env["EVALPOD_HOME"]) / "models" / "shadows" / "tiny"
    assert (shadow / "model.safetensors").is_file()
    assert json.loads((shadow.parent / "tiny.json").read_text())["architecture"] == \
        "GPT2LMHeadModel"


def test_sandbox_run_loads_the_model_or_its_shadow(script_file: Path,
                                                    home: tuple[dict[str, str], Path]) -> None:
    env, _ = home
    real = run_cli(env, "sandbox", "run", str(script_file), "--model", "tiny", "--json",
                   "--timeout", "300")
    assert real.returncode == 0, real.stdout + real.stderr
    shadow = run_cli(env, "sandbox", "run", str(script_file), "--model", "tiny", "--shadow",
                     "--json", "--timeout", "300")
    assert shadow.returncode == 0, shadow.stdout + shadow.stderr
    real_result = json.loads(real.stdout)["result"]
    shadow_result = json.loads(shadow.stdout)["result"]
    assert real_result["width"] == 96 and shadow_result["width"] == 64
    assert real_result["vocab"] == shadow_result["vocab"]
    assert "loading the shadow of tiny" in json.loads(shadow.stdout)["stdout_tail"]
    # A cold sandbox: its start-up (interpreter, torch, the model) is not the script's time.
    report = json.loads(real.stdout)
    assert report["startup_s"] > 0 and report["duration_s"] > 0, report


def test_sandbox_run_refuses_an_unknown_model_or_a_lone_shadow(
        script_file: Path, home: tuple[dict[str, str], Path]) -> None:
    env, _ = home
    unknown = run_cli(env, "sandbox", "run", str(script_file), "--model", "nope", "--json")
    assert unknown.returncode == 2
    assert "model 'nope' is not registered" in unknown.stderr
    lone = run_cli(env, "sandbox", "run", str(script_file), "--shadow")
    assert lone.returncode == 2 and "--shadow needs --model" in lone.stderr


def test_sandbox_run_refuses_a_model_changed_since_registration(
        script_file: Path, home: tuple[dict[str, str], Path]) -> None:
    env, root = home
    generation = root / "tiny" / "generation_config.json"
    original = generation.read_text()
    generation.write_text(original.replace("}", ', "changed": true}', 1))
    try:
        done = run_cli(env, "sandbox", "run", str(script_file), "--model", "tiny", "--json")
    finally:
        generation.write_text(original)
    assert done.returncode == 2 and "changed on disk" in done.stderr


def test_models_add_refuses_an_architecture_without_a_shadow(
        tmp_path: Path, tiny_model_dir: Path, home: tuple[dict[str, str], Path]) -> None:
    env, _ = home
    source = Path(shutil.copytree(tiny_model_dir, tmp_path / "t5"))
    (source / "config.json").write_text(json.dumps({"model_type": "t5", "vocab_size": 512}))
    done = run_cli(env, "models", "add", str(source), "--name", "t5")
    assert done.returncode == 1
    assert "no trial model can be built" in done.stderr and "T5Config" in done.stderr
    listed = run_cli(env, "models", "list")
    assert "t5" not in listed.stdout.split()


@pytest.fixture
def script_file(tmp_path: Path) -> Path:
    path = tmp_path / "width.py"
    path.write_text(WIDTH)
    return path


def test_sandbox_run_in_a_home_without_a_registry_is_one_line(script_file: Path,
                                                               tmp_path: Path) -> None:
    """A fresh EVALPOD_HOME has no tables yet: a one-line error, not SQLAlchemy's traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env["EVALPOD_HOME"] = str(tmp_path / "fresh")
    result = run_cli(env, "sandbox", "run", str(script_file), "--model", "tiny-gpt2")
    assert result.returncode == 2, result.stderr
    assert "cannot read the model registry" in result.stderr
    assert "evalpod db upgrade" in result.stderr and "Traceback" not in result.stderr
