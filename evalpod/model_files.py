"""Inspect, fingerprint and vet `save_pretrained` model directories without importing torch."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"})
CODE_SUFFIXES = frozenset({".py", ".pyc", ".so"})
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
# The host uid/gid jobs run as (orchestrator.local.bwrap.SANDBOX_UID), with no other groups.
SANDBOX_UID = 65534
SANDBOX_GID = 65534
# Any one of these is a tokenizer's vocabulary; GPT-2 style BPE needs both of its files.
TOKENIZER_FILES: tuple[tuple[str, ...], ...] = (
    ("tokenizer.json",),
    ("tokenizer.model",),
    ("spiece.model",),
    ("sentencepiece.bpe.model",),
    ("vocab.json", "merges.txt"),
    ("vocab.txt",),
)
_CHUNK = 1024 * 1024

# safetensors dtype tags → the names torch/transformers use in config.json.
_DTYPE_NAMES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "BOOL": "bool",
}


class ModelDirError(ValueError):
    """The directory is not an acceptable model: unsafe, incomplete or unreadable."""


class ModelDirInfo(BaseModel):
    """What the registry records about a model directory."""

    family: str | None = Field(description="config.json `model_type`, e.g. `gpt2`.")
    parameters: int = Field(description="Total elements over all safetensors tensors.")
    dtype: str | None = Field(description="The dtype holding most parameters, e.g. `float32`.")
    context_length: int | None = Field(description="n_positions / max_position_embeddings.")
    size_bytes: int = Field(description="Total size of the files in the directory.")
    files: list[str] = Field(description="Relative file names, sorted.")


def _walk(root: Path) -> list[Path]:
    """Every regular file under `root`, sorted by relative name; symlinks are refused."""
    if root.is_symlink() or not root.is_dir():
        raise ModelDirError(f"{root} is not a directory")
    found: list[Path] = []
    for item in root.rglob("*"):
        if item.is_symlink():
            raise ModelDirError(f"symlinks are not allowed: {item.relative_to(root)}")
        if item.is_file():
            found.append(item)
        elif not item.is_dir():
            raise ModelDirError(f"not a regular file: {item.relative_to(root)}")
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def directory_checksum(path: Path) -> str:
    """sha256 over each file's relative name, size and content, in sorted name order."""
    root = Path(path)
    digest = hashlib.sha256()
    for item in _walk(root):
        name = item.relative_to(root).as_posix().encode()
        # Length-prefix names and sizes so no two different trees hash the same stream.
        digest.update(struct.pack("<Q", len(name)) + name)
        digest.update(struct.pack("<Q", item.stat().st_size))
        with item.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of one safetensors file (tensor name → dtype/shape/offsets)."""
    with Path(path).open("rb") as handle:
        raw_len = handle.read(8)
        if len(raw_len) != 8:
            raise ModelDirError(f"{path.name}: truncated safetensors file")
        (length,) = struct.unpack("<Q", raw_len)
        if length > MAX_SAFETENSORS_HEADER:
            raise ModelDirError(f"{path.name}: safetensors header of {length} bytes is too large")
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelDirError(f"{path.name}: unreadable safetensors header") from exc
    if not isinstance(header, dict):
        raise ModelDirError(f"{path.name}: safetensors header is not an object")
    return header


def _tensor_counts(files: list[Path]) -> Counter[str]:
    """Elements per safetensors dtype tag over all weight files."""
    counts: Counter[str] = Counter()
    for weights in files:
        for name, entry in read_safetensors_header(weights).items():
            if name == "__metadata__" or not isinstance(entry, dict):
                continue
            numel = 1
            for dim in entry.get("shape", []):
                numel *= int(dim)
            counts[str(entry.get("dtype", "?"))] += numel
    return counts


def _read_config(root: Path) -> dict[str, Any]:
    config_path = root / "config.json"
    if not config_path.is_file():
        return {}
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelDirError("config.json is not valid JSON") from exc
    return config if isinstance(config, dict) else {}


def _context_length(config: dict[str, Any]) -> int | None:
    for key in ("n_positions", "max_position_embeddings", "n_ctx", "seq_length"):
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def inspect_model_dir(path: Path) -> ModelDirInfo:
    """Describe a model directory from config.json and the safetensors headers only."""
    root = Path(path)
    files = _walk(root)
    config = _read_config(root)
    counts = _tensor_counts([f for f in files if f.suffix == ".safetensors"])
    main_dtype = counts.most_common(1)[0][0] if counts else None
    family = config.get("model_type")
    return ModelDirInfo(
        family=family if isinstance(family, str) else None,
        parameters=sum(counts.values()),
        dtype=_DTYPE_NAMES.get(main_dtype, main_dtype) if main_dtype else None,
        context_length=_context_length(config),
        size_bytes=sum(f.stat().st_size for f in files),
        files=[f.relative_to(root).as_posix() for f in files],
    )


def _sandbox_may(info: os.stat_result, need: int) -> bool:
    """Whether uid 65534 (no supplementary groups) has the `need` rwx bits on a file."""
    if info.st_uid == SANDBOX_UID:
        bits = info.st_mode >> 6
    elif info.st_gid == SANDBOX_GID:
        bits = info.st_mode >> 3
    else:
        bits = info.st_mode
    return bits & need == need


def check_sandbox_readable(path: Path) -> None:
    """Raise `ModelDirError` unless the sandbox user can list every directory and read
    every file: jobs run as uid 65534, and `save_pretrained` writes weights 0600.

    Nothing is changed: the registry serves the directory in place, and it is the
    owner's to chmod (the message says how).
    """
    root = Path(path)
    blocked: list[str] = []
    for item in [root, *root.rglob("*")]:
        info = item.lstat()
        directory = stat.S_ISDIR(info.st_mode)
        if not _sandbox_may(info, 0o5 if directory else 0o4):
            name = item.relative_to(root).as_posix() if item != root else "."
            blocked.append(f"{name} ({stat.filemode(info.st_mode)})")
    if blocked:
        shown = ", ".join(blocked[:5]) + (f" and {len(blocked) - 5} more" if blocked[5:] else "")
        raise ModelDirError(
            f"not readable by the sandbox user (uid {SANDBOX_UID}): {shown};"
            f" run `chmod -R a+rX {root}` and add it again"
        )


def require_tokenizer(path: Path) -> None:
    """Raise `ModelDirError` unless the directory holds a tokenizer's vocabulary files."""
    root = Path(path)
    if any(all((root / name).is_file() for name in group) for group in TOKENIZER_FILES):
        return
    raise ModelDirError(
        "no tokenizer files (tokenizer.json, tokenizer.model, vocab.json + merges.txt or"
        " vocab.txt): save the tokenizer into the same directory"
        " (tokenizer.save_pretrained(DIR))"
    )


def verify_model_dir(path: Path) -> None:
    """Raise `ModelDirError` unless the directory holds safetensors weights and a
    tokenizer, all readable by the sandbox user, and nothing that executes on load: no
    pickle weights, no Python code, no `auto_map` in config."""
    root = Path(path)
    files = _walk(root)
    names = [f.relative_to(root).as_posix() for f in files]
    pickled = [n for n, f in zip(names, files, strict=True) if f.suffix in PICKLE_SUFFIXES]
    if pickled:
        raise ModelDirError(f"pickle weights are not allowed: {', '.join(pickled)}")
    code = [n for n, f in zip(names, files, strict=True) if f.suffix in CODE_SUFFIXES]
    if code:
        raise ModelDirError(f"custom code is not allowed: {', '.join(code)}")
    if not (root / "config.json").is_file():
        raise ModelDirError("config.json is missing")
    if "auto_map" in _read_config(root):
        raise ModelDirError("config.json `auto_map` (custom code) is not allowed")
    weights = [f for f in files if f.suffix == ".safetensors"]
    if not weights:
        raise ModelDirError("no *.safetensors weights found")
    for item in weights:
        read_safetensors_header(item)
    require_tokenizer(root)
    check_sandbox_readable(root)
