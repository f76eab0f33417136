"""Build a model's shadow: its architecture class and tokenizer, scaled down, random weights.

Run as `python -I sandbox_images/shadow_model.py SOURCE DEST [--seed N]` with the runtime
interpreter: the evalpod service never imports torch, so it spawns this file. SOURCE is a
registered `save_pretrained` directory; only its config.json and its other non-weight files
(tokenizer, generation config, chat template) are read, never its weights. DEST receives a
`save_pretrained` directory loadable by the same `from_pretrained` call as the real model,
checked by loading it back and running one forward pass. Exit 0 on success; 1 with a
one-line reason on stderr when the architecture cannot be shadowed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

# The shadow keeps the vocabulary, the position range, the attention layout (plain, grouped
# or multi-query) and every architecture flag; it shrinks only depth and width.
LAYERS = 2
HEADS = 4
HEAD_DIM = 16
INTERMEDIATE = 128
MAX_EXPERTS = 4

# Files never copied: weights (the shadow has its own) and the config (rewritten).
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".h5",
                   ".msgpack")
REWRITTEN = frozenset({"config.json", "model.safetensors.index.json"})
INTERMEDIATE_KEYS = ("intermediate_size", "ffn_dim", "n_inner", "moe_intermediate_size",
                     "shared_expert_intermediate_size", "ffn_hidden_size")
EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")
EXPERTS_PER_TOKEN_KEYS = ("num_experts_per_tok", "moe_topk")
SMOKE_TEXT = "The quick brown fox jumps over the lazy dog."


class ShadowError(Exception):
    """The source's architecture cannot be shadowed (unknown, custom code, inconsistent)."""


def _kv_heads(original_heads: int, original_kv: int, heads: int) -> int:
    """Keep the attention layout: multi-query stays 1, grouped stays grouped, plain stays plain."""
    if original_kv >= original_heads:
        return heads
    if original_kv == 1:
        return 1
    return max(1, heads // 2)


def _expert_updates(config: Any) -> dict[str, Any]:
    """Mixture-of-experts models keep routing, over at most MAX_EXPERTS experts."""
    updates: dict[str, Any] = {}
    experts = None
    for key in EXPERT_KEYS:
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            experts = min(value, MAX_EXPERTS)
            updates[key] = experts
    if experts is not None:
        for key in EXPERTS_PER_TOKEN_KEYS:
            value = getattr(config, key, None)
            if isinstance(value, int):
                updates[key] = min(value, experts)
    return updates


def scaled_updates(config: Any) -> dict[str, Any]:
    """The attributes to change on `config` (a transformers config) to build its shadow."""
    original_heads = int(getattr(config, "num_attention_heads", None) or HEADS)
    heads = min(HEADS, original_heads)
    updates: dict[str, Any] = {
        "num_hidden_layers": min(LAYERS, int(getattr(config, "num_hidden_layers", LAYERS))),
        "num_attention_heads": heads,
        "hidden_size": heads * HEAD_DIM,
    }
    for kv_key in ("num_key_value_heads", "num_kv_heads"):
        original_kv = getattr(config, kv_key, None)
        if isinstance(original_kv, int):
            updates[kv_key] = _kv_heads(original_heads, original_kv, heads)
    if isinstance(getattr(config, "head_dim", None), int):
        updates["head_dim"] = HEAD_DIM
    for key in INTERMEDIATE_KEYS:
        if isinstance(getattr(config, key, None), int):
            updates[key] = INTERMEDIATE
    if isinstance(getattr(config, "word_embed_proj_dim", None), int):  # OPT
        updates["word_embed_proj_dim"] = updates["hidden_size"]
    updates |= _expert_updates(config)
    layer_types = getattr(config, "layer_types", None)
    if isinstance(layer_types, list):
        updates["layer_types"] = layer_types[: updates["num_hidden_layers"]]
    return updates


def _copy_support_files(source: Path, dest: Path) -> list[str]:
    copied = []
    for item in sorted(source.iterdir()):
        if not item.is_file() or item.is_symlink() or item.name in REWRITTEN:
            continue
        if item.name.endswith(WEIGHT_SUFFIXES):
            continue
        shutil.copyfile(item, dest / item.name)
        copied.append(item.name)
    return copied


def _smoke_test(dest: Path) -> None:
    """Load the shadow the way the harness loads a model, and run one forward pass."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(
        str(dest), use_safetensors=True, trust_remote_code=False, local_files_only=True
    )
    tokenizer = AutoTokenizer.from_pretrained(
        str(dest), trust_remote_code=False, local_files_only=True
    )
    ids = tokenizer(SMOKE_TEXT, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        logits = model(input_ids=ids).logits
    if logits.shape[-1] < len(tokenizer) or not bool(torch.isfinite(logits).all()):
        raise ShadowError("the shadow's forward pass gave no finite logits over the vocabulary")


def build_shadow(source: Path, dest: Path, seed: int = 0) -> dict[str, Any]:
    """Write the shadow of `source` into `dest` (created; must not exist).

    Returns a summary (`architecture`, `changed` config values, `copied` files).
    Raises `ShadowError` when the architecture cannot be shadowed.
    """
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM

    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        config = AutoConfig.from_pretrained(
            str(source), trust_remote_code=False, local_files_only=True
        )
    except (ValueError, KeyError, OSError) as exc:
        raise ShadowError(f"config.json cannot be read by transformers: {exc}") from exc
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
        raise ShadowError(
            f"{type(config).__name__} (model_type {config.model_type!r}) is not a causal "
            f"language model architecture of transformers {transformers.__version__}"
        )
    updates = scaled_updates(config)
    for key, value in list(updates.items()):
        try:
            setattr(config, key, value)
        except AttributeError:  # a read-only property derived from the others (Falcon)
            del updates[key]
    torch.manual_seed(seed)
    try:
        model = AutoModelForCausalLM.from_config(  # type: ignore[no-untyped-call]
            config, dtype=torch.float32)
    except (ValueError, KeyError, TypeError, RuntimeError, AssertionError) as exc:
        raise ShadowError(
            f"{type(config).__name__} cannot be built scaled down ({updates}): {exc}"
        ) from exc
    model.eval()
    dest.mkdir(parents=True)
    model.save_pretrained(dest, safe_serialization=True)
    copied = _copy_support_files(source, dest)
    # safetensors writes 0600; the sandbox may read the shadow as another uid.
    for item in dest.iterdir():
        item.chmod(0o644)
    _smoke_test(dest)
    return {"architecture": type(model).__name__, "changed": updates, "copied": copied}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        summary = build_shadow(args.source, args.dest, seed=args.seed)
    except ShadowError as exc:
        print(f"shadow: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
