"""The `model` object evaluation scripts receive: a local transformers causal LM plus helpers."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import transformers
from common import batches, check_generate_args, require_list, truncate_at_stop
from transformers import AutoModelForCausalLM, AutoTokenizer

DEFAULT_MAX_LENGTH = 2048
# transformers renamed `torch_dtype` to `dtype` in 4.56; the old name is gone in 5.
_DTYPE_KWARG = (
    "dtype"
    if tuple(int(p) for p in transformers.__version__.split(".")[:2]) >= (4, 56)
    else "torch_dtype"
)


def _seed_everything(seed: int) -> None:
    # cuBLAS needs this set before its first use to have deterministic kernels.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = False


def _pick_device(device: str) -> tuple[str, torch.dtype]:
    if device == "cuda" and torch.cuda.is_available():
        half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return "cuda", half
    return "cpu", torch.float32


def _context_limit(model: Any, tokenizer: Any) -> int:
    config = model.config
    for key in ("n_positions", "max_position_embeddings", "n_ctx", "seq_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    from_tokenizer = getattr(tokenizer, "model_max_length", None)
    if isinstance(from_tokenizer, int) and 0 < from_tokenizer < 1_000_000:
        return from_tokenizer
    return DEFAULT_MAX_LENGTH


class ModelHandle:
    """A loaded model: `.model`, `.tokenizer`, `.device`, and batched scoring helpers.

    Every method is deterministic for a given seed and call order.
    """

    def __init__(self, model: Any, tokenizer: Any, device: str, seed: int = 1234) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.seed = seed
        self.max_length = _context_limit(model, tokenizer)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._prefix_id = int(
            tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.pad_token_id
        )

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", seed: int = 1234) -> ModelHandle:
        """Load a local `save_pretrained` directory: safetensors only, no remote code."""
        _seed_everything(seed)
        transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        chosen, dtype = _pick_device(device)
        model = AutoModelForCausalLM.from_pretrained(
            str(path),
            use_safetensors=True,
            trust_remote_code=False,
            local_files_only=True,
            **{_DTYPE_KWARG: dtype},
        )
        model.to(chosen).eval()  # type: ignore[arg-type]
        tokenizer = AutoTokenizer.from_pretrained(
            str(path), trust_remote_code=False, local_files_only=True
        )
        return cls(model, tokenizer, chosen, seed)

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def generate(
        self,
        prompts: list[str],
        max_new_tokens: int = 32,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        batch_size: int = 8,
    ) -> list[str]:
        """Continue each prompt: greedy at temperature 0, seeded sampling otherwise.

        Returns only the new text, cut before the first `stop` string. Prompts longer than
        the context window keep their last tokens.
        """
        require_list(prompts, "prompts")
        check_generate_args(max_new_tokens, temperature, self.max_length)
        outputs: list[str] = []
        for batch in batches(list(prompts), batch_size):
            outputs.extend(self._generate_batch(batch, max_new_tokens, temperature))
        return [truncate_at_stop(text, stop) for text in outputs]

    def _left_padded(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(1, max(len(row) for row in rows))
        pad = int(self.tokenizer.pad_token_id)
        ids = [[pad] * (width - len(row)) + row for row in rows]
        mask = [[0] * (width - len(row)) + [1] * len(row) for row in rows]
        return (
            torch.tensor(ids, dtype=torch.long, device=self.device),
            torch.tensor(mask, dtype=torch.long, device=self.device),
        )

    @torch.inference_mode()
    def _generate_batch(
        self, prompts: Sequence[str], max_new_tokens: int, temperature: float
    ) -> list[str]:
        keep = self.max_length - max_new_tokens
        # An empty prompt still needs one token to condition on.
        rows = [(self._encode(p) or [self._prefix_id])[-keep:] for p in prompts]
        input_ids, attention_mask = self._left_padded(rows)
        sampling: dict[str, Any] = {"do_sample": False}
        if temperature > 0:
            sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
        generated = self.model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            max_new_tokens=max_new_tokens,
            pad_token_id=int(self.tokenizer.pad_token_id),
            **sampling,
        )
        new_tokens = generated[:, input_ids.shape[1] :]
        return [self.tokenizer.decode(row.tolist(), skip_special_tokens=True) for row in new_tokens]

    def _split_request(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Token ids of context and continuation, split the way lm-eval does.

        Trailing spaces of the context move to the continuation and the continuation's ids
        are taken from encoding the whole string, so BPE merges across the boundary count.
        """
        if not context:
            return [self._prefix_id], self._encode(continuation)
        spaces = len(context) - len(context.rstrip())
        if spaces:
            continuation = context[-spaces:] + continuation
            context = context[:-spaces]
        whole = self._encode(context + continuation)
        context_ids = self._encode(context)
        return whole[: len(context_ids)], whole[len(context_ids) :]

    def loglikelihood(
        self, requests: list[tuple[str, str]], batch_size: int = 8
    ) -> list[tuple[float, bool]]:
        """For each (context, continuation): summed log-probability of the continuation's
        tokens given the context, and whether greedy decoding would produce exactly them."""
        require_list(requests, "requests")
        rows: list[tuple[list[int], int]] = []
        for context, continuation in requests:
            context_ids, continuation_ids = self._split_request(context, continuation)
            if len(continuation_ids) > self.max_length:
                raise ValueError(f"a continuation is longer than {self.max_length} tokens")
            rows.append((context_ids + continuation_ids, len(continuation_ids)))
        return self._score(rows, batch_size)

    def _rolling_windows(self, text: str) -> list[tuple[list[int], int]]:
        """Windows that score every token of `text` once, each with as much context as fits."""
        ids = [self._prefix_id, *self._encode(text)]
        if len(ids) < 2:
            raise ValueError("perplexity of an empty text is undefined")
        stride = max(1, self.max_length // 2)
        windows = []
        for start in range(1, len(ids), stride):
            end = min(start + stride, len(ids))
            begin = max(0, end - (self.max_length + 1))
            windows.append((ids[begin:end], end - start))
        return windows

    def _rolling(self, texts: list[str], batch_size: int) -> list[tuple[float, int]]:
        """(summed log-probability, token count) of each whole text."""
        require_list(texts, "texts")
        windows: list[tuple[list[int], int]] = []
        owners: list[int] = []
        for index, text in enumerate(texts):
            for window in self._rolling_windows(text):
                windows.append(window)
                owners.append(index)
        totals = [0.0] * len(texts)
        counts = [0] * len(texts)
        scores = self._score(windows, batch_size)
        for owner, window, (logprob, _) in zip(owners, windows, scores, strict=True):
            totals[owner] += logprob
            counts[owner] += window[1]
        return list(zip(totals, counts, strict=True))

    def loglikelihood_rolling(self, texts: list[str], batch_size: int = 8) -> list[float]:
        """Summed log-probability of every token of each text (sliding window, see below)."""
        return [total for total, _ in self._rolling(texts, batch_size)]

    def perplexity(self, texts: list[str], batch_size: int = 8) -> list[float]:
        """Per-text perplexity, exp(mean negative log-likelihood per token).

        Texts longer than the context window are scored with a sliding window of half the
        context as stride, so every token keeps at least half a window of context.
        """
        return [math.exp(-total / count) for total, count in self._rolling(texts, batch_size)]

    def _score(
        self, rows: list[tuple[list[int], int]], batch_size: int
    ) -> list[tuple[float, bool]]:
        results: list[tuple[float, bool]] = []
        for batch in batches(rows, batch_size):
            results.extend(self._score_batch(batch))
        return results

    @torch.inference_mode()
    def _score_batch(self, rows: Sequence[tuple[list[int], int]]) -> list[tuple[float, bool]]:
        """Score the last `n` tokens of each token row; rows are cut to the context window."""
        inputs = [ids[-(self.max_length + 1) :][:-1] for ids, _ in rows]
        width = max(1, max(len(row) for row in inputs))
        pad = int(self.tokenizer.pad_token_id)
        # Right padding keeps positions correct without position ids.
        padded = [row + [pad] * (width - len(row)) for row in inputs]
        mask = [[1] * len(row) + [0] * (width - len(row)) for row in inputs]
        logits = self.model(
            input_ids=torch.tensor(padded, dtype=torch.long, device=self.device),
            attention_mask=torch.tensor(mask, dtype=torch.long, device=self.device),
        ).logits
        results: list[tuple[float, bool]] = []
        for row_index, ((ids, count), row) in enumerate(zip(rows, inputs, strict=True)):
            if count == 0:
                results.append((0.0, True))
                continue
            targets = torch.tensor(ids[-count:], dtype=torch.long, device=self.device)
            # Only the scored positions go to float32: full-vocabulary logits of a whole
            # batch in float32 would be gigabytes for large models.
            scores = logits[row_index, len(row) - count : len(row)].float().log_softmax(dim=-1)
            picked = scores.gather(1, targets.unsqueeze(1)).squeeze(1)
            greedy = bool((scores.argmax(dim=-1) == targets).all())
            results.append((float(picked.sum()), greedy))
        return results
