"""A torch-free stand-in for ModelHandle where no model is involved at all.

Only `evalpod sandbox run` without `--model` (operators testing isolation) and sandbox
benchmarks use it; validation trials run on the model's shadow (`evalpod.shadow`).
Same method names and return types as ModelHandle; its tokenizer is not callable.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any

import evalpod_progress
from common import check_generate_args, require_list, truncate_at_stop

STUB_MAX_LENGTH = 256
STUB_VOCAB = 50_000


def _stable_hash(text: str) -> int:
    # Not hash(): string hashing is salted per process, and trial runs must be reproducible.
    return zlib.crc32(text.encode("utf-8"))


class StubTokenizer:
    """Whitespace tokenizer with stable ids; enough for scripts that count tokens."""

    eos_token = "<|endoftext|>"
    eos_token_id = 0
    pad_token = eos_token
    pad_token_id = 0

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [1 + _stable_hash(word) % (STUB_VOCAB - 1) for word in text.split()]

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return " ".join(f"t{i}" for i in ids)

    def __len__(self) -> int:
        return STUB_VOCAB


class StubModel:
    """Same public interface and return types as ModelHandle; deterministic and torch-free."""

    def __init__(self, seed: int = 1234) -> None:
        self.model = None
        self.tokenizer = StubTokenizer()
        self.device = "cpu"
        self.seed = seed
        self.max_length = STUB_MAX_LENGTH

    def progress(self, done: Any, total: Any = None, description: Any = None) -> None:
        """Report progress (`done` of `total` units) to the job's live view:
        `evalpod_progress.progress`."""
        evalpod_progress.progress(done, total, description)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", seed: int = 1234) -> StubModel:
        """Ignore `path` and `device`: there is nothing to load."""
        return cls(seed=seed)

    def _unit(self, *parts: str) -> float:
        """A stable pseudo-random number in [0, 1) for these inputs and this seed."""
        return _stable_hash("\x00".join((str(self.seed), *parts))) / 2**32

    def generate(
        self,
        prompts: list[str],
        max_new_tokens: int = 32,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        batch_size: int = 8,
    ) -> list[str]:
        """One short stable word per prompt (the same prompt always gives the same word)."""
        require_list(prompts, "prompts")
        check_generate_args(max_new_tokens, temperature, self.max_length)
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        words = [f" stub{int(self._unit(prompt) * 100)}" for prompt in prompts]
        return [truncate_at_stop(word, stop) for word in words]

    def loglikelihood(
        self, requests: list[tuple[str, str]], batch_size: int = 8
    ) -> list[tuple[float, bool]]:
        """About -2 nats per continuation token, jittered by a stable hash; never greedy."""
        require_list(requests, "requests")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        results: list[tuple[float, bool]] = []
        for context, continuation in requests:
            tokens = max(1, len(continuation.split()))
            results.append((-tokens * (1.5 + self._unit(context, continuation)), False))
        return results

    def _check_texts(self, texts: list[str], batch_size: int) -> None:
        require_list(texts, "texts")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if any(not text for text in texts):
            raise ValueError("perplexity of an empty text is undefined")

    def loglikelihood_rolling(self, texts: list[str], batch_size: int = 8) -> list[float]:
        """Minus log(perplexity) per whitespace token, consistent with `perplexity`."""
        self._check_texts(texts, batch_size)
        return [
            -math.log(ppl) * max(1, len(text.split()))
            for text, ppl in zip(texts, self.perplexity(texts, batch_size), strict=True)
        ]

    def perplexity(self, texts: list[str], batch_size: int = 8) -> list[float]:
        """A stable value between e and e**2 per text."""
        self._check_texts(texts, batch_size)
        return [math.exp(1.0 + self._unit(text)) for text in texts]
