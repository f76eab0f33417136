"""Score the same requests with the harness's ModelHandle and with lm-eval's own HFLM.

Run as `python -I tests/harness/lm_eval_identity.py MODEL_DIR HARNESS_DIR` (the handle's
methods against HFLM) or `... MODEL_DIR TASK_DIR --tasks T1,T2 --fewshot N --limit L`
(lm-eval's own `simple_evaluate` on the tasks); prints one JSON object. The reference is
`HFLM(pretrained=MODEL_DIR)`, loaded by lm-eval itself from the directory (as
`lm_eval --model hf --model_args pretrained=MODEL_DIR` does), batch size 1.
"""

from __future__ import annotations

import json
import sys
from typing import Any

SHORT = "The quick brown fox jumps over the lazy dog."
# Far longer than the 64-token window of tests/harness/tiny_llama.py.
LONG = " ".join(
    "It was a bright cold day in April, and the clocks were striking thirteen. "
    "Question: What is 4 + 5? Answer: 9. One, two, three, four, five, six." for _ in range(6)
)
PAIRS = [
    ("The capital of France is", " Paris"),
    ("Question: What is 4 + 5? Answer: ", "9"),  # trailing space moves to the continuation
    ("", "The quick brown fox"),  # empty context: conditioned on the prefix token
    (LONG, " nine"),  # context cut on the left to fit the window
]
TEXTS = [SHORT, LONG]


def main(model_dir: str, harness_dir: str) -> dict[str, Any]:
    sys.path.insert(0, harness_dir)
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM
    from model_handle import ModelHandle

    handle = ModelHandle.load(model_dir)
    reference = HFLM(pretrained=model_dir, device="cpu", batch_size=1)

    def instances(kind: str, args: list[tuple[str, ...]]) -> list[Instance]:
        return [Instance(request_type=kind, doc={}, arguments=a, idx=i)  # type: ignore[arg-type]
                for i, a in enumerate(args)]

    ref_ll = reference.loglikelihood(instances("loglikelihood", PAIRS), disable_tqdm=True)
    ref_rolling = reference.loglikelihood_rolling(
        instances("loglikelihood_rolling", [(t,) for t in TEXTS]), disable_tqdm=True)
    return {
        "window": handle.max_length,
        "reference_window": reference.max_length,
        "long_tokens": len(reference.tok_encode(LONG)),
        "bos_first": handle._encode(SHORT)[0] == handle.tokenizer.bos_token_id,
        "loglikelihood": {"handle": handle.loglikelihood(PAIRS),
                          "lm_eval": [[float(a), bool(b)] for a, b in ref_ll]},
        "rolling": {"handle": handle.loglikelihood_rolling(TEXTS),
                    "lm_eval": [float(x) for x in ref_rolling]},
        "perplexity": handle.perplexity(TEXTS),
        "tokens": [len(reference.tok_encode(t)) for t in TEXTS],
    }


def reference_tasks(model_dir: str, task_dir: str, tasks: list[str], fewshot: int,
                    limit: int) -> dict[str, Any]:
    """lm-eval's own results, seeded as the harness's lm_eval job seeds them."""
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    seed = 1234
    results = simple_evaluate(
        model=HFLM(pretrained=model_dir, device="cpu", batch_size=1), tasks=tasks,
        num_fewshot=fewshot, limit=limit,
        task_manager=TaskManager(include_path=task_dir, include_defaults=False),
        bootstrap_iters=1000, log_samples=False, random_seed=seed, numpy_random_seed=seed,
        torch_random_seed=seed, fewshot_random_seed=seed)
    assert results is not None
    return {name: {key.split(",")[0]: value for key, value in raw.items()
                   if key.endswith(",none") and isinstance(value, int | float)}
            for name, raw in results["results"].items()}


if __name__ == "__main__":
    if "--tasks" in sys.argv:
        options = dict(zip(sys.argv[3::2], sys.argv[4::2], strict=True))
        print(json.dumps(reference_tasks(
            sys.argv[1], sys.argv[2], options["--tasks"].split(","),
            int(options["--fewshot"]), int(options["--limit"]))))
    else:
        print(json.dumps(main(sys.argv[1], sys.argv[2])))
