"""The handle's likelihoods and the lm_eval job equal lm-eval's own HFLM (issue 12).

On a tiny Llama whose tokenizer adds BOS, with texts longer than its 64-token window: the
two cases where the old hand-written scoring differed from lm-eval (no BOS, half-window
strides instead of lm-eval's rolling windows).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import HARNESS_ENV, HARNESS_TIMEOUT_S, REPO, TASK_DIR, RunHarness

TOLERANCE = 4e-6
HARNESS_DIR = REPO / "sandbox_images" / "harness"
HERE = Path(__file__).resolve().parent
SHIPPED = ["evalpod_arith", "evalpod_capitals", "evalpod_sentences"]


def _probe(*args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-I", str(HERE / "lm_eval_identity.py"), *args],
        capture_output=True, text=True, timeout=HARNESS_TIMEOUT_S * 2, env=HARNESS_ENV,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_handle_likelihoods_equal_lm_eval_with_bos_and_long_texts(tiny_llama_dir: Path) -> None:
    found = _probe(str(tiny_llama_dir), str(HARNESS_DIR))
    assert found["bos_first"] is True
    assert found["window"] == found["reference_window"] == 64
    assert found["long_tokens"] > 4 * found["window"]
    ours, theirs = found["loglikelihood"]["handle"], found["loglikelihood"]["lm_eval"]
    for (score, greedy), (reference, reference_greedy) in zip(ours, theirs, strict=True):
        assert score == pytest.approx(reference, abs=TOLERANCE)
        assert greedy == reference_greedy
    for score, reference in zip(found["rolling"]["handle"], found["rolling"]["lm_eval"],
                                strict=True):
        assert score == pytest.approx(reference, abs=TOLERANCE)
    # Perplexity is exp(-rolling / tokens) over the same tokens lm-eval scores.
    for ppl, total, tokens in zip(found["perplexity"], found["rolling"]["lm_eval"],
                                  found["tokens"], strict=True):
        assert ppl == pytest.approx(2.718281828459045 ** (-total / tokens), rel=1e-6)


def test_lm_eval_job_equals_lm_eval_itself(run_harness: RunHarness, tiny_llama_dir: Path
                                           ) -> None:
    run = run_harness(kind="lm_eval", model_path=str(tiny_llama_dir), tasks=SHIPPED,
                      task_include_path=str(TASK_DIR), num_fewshot=2, limit=6)
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.result is not None
    ours = run.result["metrics"]["tasks"]
    reference = _probe(str(tiny_llama_dir), str(TASK_DIR), "--tasks", ",".join(SHIPPED),
                       "--fewshot", "2", "--limit", "6")
    assert set(ours) == set(reference) == set(SHIPPED)
    for task, metrics in reference.items():
        assert metrics, task
        for name, value in metrics.items():
            # Perplexities are exponentials of summed log-likelihoods: compare relatively.
            expected = pytest.approx(value, rel=TOLERANCE, abs=TOLERANCE)
            assert ours[task][name] == expected, (task, name)
