"""`models add` refuses directories a job could not load: unreadable files, no tokenizer.

Issue #14 item 5: `save_pretrained` writes weights 0600; the run then failed with
`FileNotFoundError: /model/model.safetensors` inside the sandbox (uid 65534).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evalpod.model_files import ModelDirError, verify_model_dir

ROOT = Path(__file__).resolve().parents[2]
CLI = "from evalpod.cli import main; main()"


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
    copy.chmod(0o755)
    return copy


def models_add(home: Path, path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVALPOD_HOME": str(home)}
    env.pop("EVALPOD_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", CLI, "models", "add", str(path), "--name", "checked"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip


def test_weights_written_0600_are_refused_with_the_fix(model_copy: Path) -> None:
    (model_copy / "model.safetensors").chmod(0o600)
    with pytest.raises(ModelDirError) as caught:
        verify_model_dir(model_copy)
    message = str(caught.value)
    assert "uid 65534" in message and "model.safetensors (-rw-------)" in message
    assert f"chmod -R a+rX {model_copy}" in message


def test_a_directory_the_sandbox_cannot_list_is_refused(model_copy: Path) -> None:
    model_copy.chmod(0o700)
    with pytest.raises(ModelDirError, match=r"\. \(drwx------\)"):
        verify_model_dir(model_copy)


def test_files_owned_by_the_sandbox_user_need_only_owner_bits(model_copy: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to uid 65534 needs root")
    weights = model_copy / "model.safetensors"
    os.chown(weights, 65534, 65534)
    weights.chmod(0o600)
    verify_model_dir(model_copy)


def test_a_model_without_tokenizer_files_is_refused(model_copy: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (model_copy / name).unlink(missing_ok=True)
    with pytest.raises(ModelDirError, match="no tokenizer files"):
        verify_model_dir(model_copy)


def test_half_a_bpe_vocabulary_is_not_a_tokenizer(model_copy: Path) -> None:
    (model_copy / "tokenizer.json").unlink()
    (model_copy / "vocab.json").write_text("{}")
    with pytest.raises(ModelDirError, match="no tokenizer files"):
        verify_model_dir(model_copy)
    (model_copy / "merges.txt").write_text("#version: 0.2\n")
    verify_model_dir(model_copy)


def test_cli_says_why_in_one_line_and_fails(model_copy: Path, tmp_path: Path) -> None:
    (model_copy / "model.safetensors").chmod(0o600)
    done = models_add(tmp_path / "home", model_copy)
    assert done.returncode == 1, done
    # `-- ...` lines say what `models add` is doing (stderr, not a terminal); one error line.
    lines = [x for x in done.stderr.strip().splitlines() if not x.startswith("-- ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "model.safetensors" in lines[0] and "Traceback" not in done.stderr


def test_cli_on_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    done = models_add(tmp_path / "home", tmp_path / "nowhere")
    assert done.returncode == 1, done
    lines = [x for x in done.stderr.strip().splitlines() if not x.startswith("-- ")]
    assert lines == [f"error: {tmp_path / 'nowhere'} is not a directory"], done.stderr
