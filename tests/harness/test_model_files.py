"""Model directory checksums, inspection and vetting (no torch in this process)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from evalpod.model_files import (
    ModelDirError,
    directory_checksum,
    inspect_model_dir,
    verify_model_dir,
)


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def test_inspect_reads_config_and_safetensors_headers(tiny_model_dir: Path) -> None:
    info = inspect_model_dir(tiny_model_dir)
    assert info.family == "gpt2"
    assert info.context_length == 256
    assert info.dtype == "float32"
    assert 100_000 < info.parameters < 1_000_000
    assert "model.safetensors" in info.files
    assert "torch" not in sys.modules


def test_checksum_is_stable_and_detects_tampering(tiny_model_dir: Path, model_copy: Path) -> None:
    original = directory_checksum(tiny_model_dir)
    assert directory_checksum(model_copy) == original
    weights = model_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert directory_checksum(model_copy) != original


def test_checksum_covers_file_names(model_copy: Path) -> None:
    before = directory_checksum(model_copy)
    (model_copy / "tokenizer.json").rename(model_copy / "tokenizer2.json")
    assert directory_checksum(model_copy) != before


def test_tiny_model_builds_are_reproducible(tiny_model_dir: Path, tmp_path: Path) -> None:
    import subprocess

    other = tmp_path / "again"
    script = Path(__file__).resolve().parents[2] / "sandbox_images" / "tiny_model.py"
    subprocess.run([sys.executable, str(script), str(other)], check=True, capture_output=True)
    assert directory_checksum(other) == directory_checksum(tiny_model_dir)


def test_verify_accepts_the_tiny_model(tiny_model_dir: Path) -> None:
    verify_model_dir(tiny_model_dir)


@pytest.mark.parametrize("name", ["pytorch_model.bin", "weights.pt", "state.pkl", "sub/x.bin"])
def test_verify_rejects_pickle_weights(model_copy: Path, name: str) -> None:
    (model_copy / name).parent.mkdir(exist_ok=True)
    (model_copy / name).write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelDirError, match="pickle"):
        verify_model_dir(model_copy)


def test_verify_rejects_custom_code(model_copy: Path) -> None:
    (model_copy / "modeling_evil.py").write_text("import os\n")
    with pytest.raises(ModelDirError, match="custom code"):
        verify_model_dir(model_copy)


def test_verify_rejects_auto_map(model_copy: Path) -> None:
    config = json.loads((model_copy / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilModel"}
    (model_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirError, match="auto_map"):
        verify_model_dir(model_copy)


def test_verify_requires_safetensors(model_copy: Path) -> None:
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(ModelDirError, match="safetensors"):
        verify_model_dir(model_copy)


def test_symlinks_are_refused(model_copy: Path) -> None:
    (model_copy / "link.json").symlink_to("/etc/passwd")
    with pytest.raises(ModelDirError, match="symlink"):
        directory_checksum(model_copy)
    with pytest.raises(ModelDirError, match="symlink"):
        verify_model_dir(model_copy)


def test_oversized_safetensors_header_is_refused(model_copy: Path) -> None:
    (model_copy / "model.safetensors").write_bytes((2**40).to_bytes(8, "little") + b"{}")
    with pytest.raises(ModelDirError, match="too large"):
        verify_model_dir(model_copy)
