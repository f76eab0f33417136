"""Shadow models (the trial's model): built from a registered model's config and tokenizer,
loaded through the harness's own `from_pretrained` path, never carrying the real weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evalpod.model_files import directory_checksum, read_safetensors_header
from evalpod.settings import Settings
from evalpod.shadow import ShadowBuildError, ensure_shadow, read_manifest, shadow_dir

from .conftest import RunHarness
from .test_harness_scripts import EVERY_METHOD

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")

# The rejected-legit shapes: the tokenizer called directly, logits and a loss from
# the transformers model itself.
DIRECT_USE = """
def evaluate_model(model):
    tok = model.tokenizer
    enc = tok(["The capital of France is", "Two plus two is"], return_tensors="pt",
              padding=True)
    logits = model.model(**enc).logits
    ids = tok("The quick brown fox", return_tensors="pt").input_ids
    loss = model.model(ids, labels=ids).loss
    return {"logits_shape": list(logits.shape), "loss": float(loss.detach()),
            "vocab": len(tok), "first_id": int(ids[0, 0]),
            "bos": tok.bos_token_id, "class": type(model.model).__name__,
            "kv_heads": getattr(model.model.config, "num_key_value_heads", None)}
"""


async def _shadow(tmp_path: Path, source: Path, model_id: str) -> tuple[Settings, Path]:
    settings = Settings(home=tmp_path / "home")
    path = await ensure_shadow(settings, model_id, source, directory_checksum(source))
    return settings, path


def _config(path: Path) -> dict[str, object]:
    return dict(json.loads((path / "config.json").read_text()))


def _shapes(path: Path) -> dict[str, list[int]]:
    header = read_safetensors_header(path / "model.safetensors")
    return {k: v["shape"] for k, v in header.items() if k != "__metadata__"}


async def test_shadow_keeps_architecture_and_tokenizer_and_drops_weights(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    settings, shadow = await _shadow(tmp_path, tiny_model_dir, "tiny-gpt2")
    assert shadow == shadow_dir(settings, "tiny-gpt2")
    real, small = _config(tiny_model_dir), _config(shadow)
    assert small["architectures"] == real["architectures"] == ["GPT2LMHeadModel"]
    for key in ("model_type", "vocab_size", "n_positions", "bos_token_id", "eos_token_id"):
        assert small[key] == real[key], key
    assert small["n_embd"] < real["n_embd"]  # type: ignore[operator]
    for name in TOKENIZER_FILES:
        assert (shadow / name).read_bytes() == (tiny_model_dir / name).read_bytes()
    # Every tensor is narrower: none of the real weights can be in the shadow.
    real_shapes, small_shapes = _shapes(tiny_model_dir), _shapes(shadow)
    assert set(small_shapes) <= set(real_shapes)
    assert all(small_shapes[k] != real_shapes[k] for k in small_shapes if len(real_shapes[k]) > 1)
    manifest = read_manifest(settings, "tiny-gpt2")
    assert manifest is not None
    assert manifest.source_checksum == directory_checksum(tiny_model_dir)
    assert manifest.architecture == "GPT2LMHeadModel"


async def test_shadow_is_reused_then_rebuilt_when_damaged_or_stale(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    settings, shadow = await _shadow(tmp_path, tiny_model_dir, "m")
    built = (shadow / "model.safetensors").stat().st_mtime_ns
    checksum = directory_checksum(tiny_model_dir)
    assert await ensure_shadow(settings, "m", tiny_model_dir, checksum) == shadow
    assert (shadow / "model.safetensors").stat().st_mtime_ns == built
    (shadow / "tokenizer.json").write_text("{}")  # damaged: rebuilt from the source
    await ensure_shadow(settings, "m", tiny_model_dir, checksum)
    assert (shadow / "tokenizer.json").read_bytes() == (tiny_model_dir / "tokenizer.json"
                                                        ).read_bytes()
    await ensure_shadow(settings, "m", tiny_model_dir, "0" * 64)  # re-registered source
    manifest = read_manifest(settings, "m")
    assert manifest is not None and manifest.source_checksum == "0" * 64


async def test_unshadowable_architecture_is_refused_with_the_reason(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    source = tmp_path / "t5"
    shutil.copytree(tiny_model_dir, source)
    (source / "config.json").write_text(json.dumps({"model_type": "t5", "vocab_size": 100}))
    settings = Settings(home=tmp_path / "home")
    with pytest.raises(ShadowBuildError, match="T5Config"):
        await ensure_shadow(settings, "t5", source, directory_checksum(source))
    assert not shadow_dir(settings, "t5").exists()
    assert list(shadow_dir(settings, "t5").parent.glob("*.tmp")) == []


@pytest.mark.parametrize("model_id", ["..", ".", "a/b", "", "-x" * 100])
def test_a_model_id_must_be_one_path_component(tmp_path: Path, model_id: str) -> None:
    with pytest.raises(ShadowBuildError):
        shadow_dir(Settings(home=tmp_path), model_id)


async def test_every_documented_call_works_on_the_shadow(
    tmp_path: Path, tiny_model_dir: Path, run_harness: RunHarness
) -> None:
    _, shadow = await _shadow(tmp_path, tiny_model_dir, "tiny-gpt2")
    run = run_harness(EVERY_METHOD, model_path=str(shadow), model_id="tiny-gpt2", shadow=True)
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.result is not None and run.result["ok"] is True
    assert "trial run: loading the shadow of tiny-gpt2" in run.stderr
    direct = run_harness(DIRECT_USE, model_path=str(shadow), shadow=True)
    assert direct.returncode == 0, direct.stderr[-4000:]
    assert direct.result is not None
    metrics = direct.result["metrics"]
    assert metrics["class"] == "GPT2LMHeadModel"
    assert metrics["logits_shape"][0] == 2 and metrics["logits_shape"][2] >= metrics["vocab"]


async def test_llama_shadow_keeps_bos_and_grouped_attention(
    tmp_path: Path, tiny_llama_dir: Path, run_harness: RunHarness
) -> None:
    _, shadow = await _shadow(tmp_path, tiny_llama_dir, "tiny-llama")
    real, small = _config(tiny_llama_dir), _config(shadow)
    assert small["architectures"] == ["LlamaForCausalLM"]
    assert small["max_position_embeddings"] == real["max_position_embeddings"]
    assert small["num_key_value_heads"] < small["num_attention_heads"]  # type: ignore[operator]
    run = run_harness(DIRECT_USE, model_path=str(shadow), shadow=True)
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.result is not None
    metrics = run.result["metrics"]
    assert metrics["first_id"] == metrics["bos"] is not None  # the tokenizer adds BOS
    assert metrics["kv_heads"] == small["num_key_value_heads"]
