"""The `model` object evaluation scripts receive: a local transformers causal LM plus helpers.

Likelihoods are lm-eval's own: `loglikelihood`, `loglikelihood_rolling` and `perplexity` run
through lm-eval's `HFLM` wrapped around the already loaded model and tokenizer, so BOS
handling, context/continuation splitting, truncation and rolling windows are exactly those of
`lm_eval --model hf` on the same model, and the lm_eval job uses the same `HFLM` object.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import evalpod_progress
import torch
import transformers
from common import batches, check_generate_args, require_list, truncate_at_stop
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
from transformers import AutoModelForCausalLM, AutoTokenizer

# transformers renamed `torch_dtype` to `dtype` in 4.56; the old name is gone in 5.
_DTYPE_KWARG = (
    "dtype"
    if tuple(int(p) for p in transformers.__version__.split(".")[:2]) >= (4, 56)
    else "torch_dtype"
)
DEFAULT_BATCH_SIZE = 8


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


def wrap_in_hflm(model: Any, tokenizer: Any, batch_size: int = DEFAULT_BATCH_SIZE) -> Any:
    """lm-eval's `HFLM` around a loaded causal LM and its tokenizer (nothing is reloaded)."""
    # HFLM warns that a non-string `pretrained` ignores its loading options: that is the point.
    hf_logger = logging.getLogger("lm_eval.models.huggingface")
    level = hf_logger.level
    hf_logger.setLevel(logging.ERROR)
    try:
        return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
    finally:
        hf_logger.setLevel(level)


def _instances(kind: str, arguments: Sequence[tuple[str, ...]]) -> list[Instance]:
    return [
        Instance(request_type=kind, doc={}, arguments=args, idx=index)
        for index, args in enumerate(arguments)
    ]


class ModelHandle:
    """A loaded model: `.model`, `.tokenizer`, `.device`, `.lm` (lm-eval's HFLM on the same
    model) and batched scoring helpers.

    Every method is deterministic for a given seed and call order.
    """

    def __init__(self, model: Any, tokenizer: Any, device: str, seed: int = 1234) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.seed = seed
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.lm = wrap_in_hflm(model, tokenizer)
        # lm-eval's context window: config n_positions/max_position_embeddings/n_ctx, then
        # the tokenizer's model_max_length, then 2048.
        self.max_length = int(self.lm.max_length)
        # What an empty context is conditioned on: BOS if the tokenizer has one, else EOS.
        self._prefix_id = int(self.lm.prefix_token_id)

    def progress(self, done: Any, total: Any = None, description: Any = None) -> None:
        """Report progress (`done` of `total` units) to the job's live view:
        `evalpod_progress.progress`."""
        evalpod_progress.progress(done, total, description)

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
        """Token ids as lm-eval encodes a text: with BOS where the tokenizer adds one."""
        return list(self.lm.tok_encode(text))

    def generate(
        self,
        prompts: list[str],
        max_new_tokens: int = 32,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[str]:
        """Continue each prompt: greedy at temperature 0, seeded sampling otherwise.

        Returns only the new text, cut before the first `stop` string. Prompts are encoded
        as lm-eval encodes them (BOS where the tokenizer adds one); prompts longer than the
        context window keep their last tokens. Raises ValueError for `max_new_tokens`
        outside [1, max_length - 1] or a negative temperature, TypeError for a bare string.
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

    def _with_batch_size(self, batch_size: int) -> Any:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.lm.batch_size_per_gpu = batch_size
        return self.lm

    def loglikelihood(
        self, requests: list[tuple[str, str]], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> list[tuple[float, bool]]:
        """For each (context, continuation): summed log-probability (nats) of the
        continuation's tokens given the context, and whether greedy decoding would produce
        exactly them. Computed by lm-eval's HFLM: trailing spaces of the context move to the
        continuation, an empty context is conditioned on BOS (else EOS), and contexts are
        cut on the left to fit the window."""
        require_list(requests, "requests")
        pairs = [(str(context), str(continuation)) for context, continuation in requests]
        lm = self._with_batch_size(batch_size)
        scores = lm.loglikelihood(_instances("loglikelihood", pairs), disable_tqdm=True)
        return [(float(logprob), bool(greedy)) for logprob, greedy in scores]

    def loglikelihood_rolling(
        self, texts: list[str], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> list[float]:
        """Summed log-probability (nats) of every token of each text, by lm-eval's rolling
        windows: disjoint windows of the context length, the first conditioned on BOS (else
        EOS), each later one on the tokens just before it. A tokenizer that adds BOS has it
        scored too, as lm-eval does."""
        require_list(texts, "texts")
        lm = self._with_batch_size(batch_size)
        totals = lm.loglikelihood_rolling(
            _instances("loglikelihood_rolling", [(str(text),) for text in texts]),
            disable_tqdm=True,
        )
        return [float(total) for total in totals]

    def perplexity(self, texts: list[str], batch_size: int = DEFAULT_BATCH_SIZE) -> list[float]:
        """Per-text token perplexity, exp(-loglikelihood_rolling / tokens scored).

        Raises ValueError for a text with no tokens (perplexity is undefined).
        """
        require_list(texts, "texts")
        counts = [len(self._encode(str(text))) for text in texts]
        if any(count == 0 for count in counts):
            raise ValueError("perplexity of an empty text is undefined")
        totals = self.loglikelihood_rolling(texts, batch_size)
        return [math.exp(-total / count) for total, count in zip(totals, counts, strict=True)]
