"""Run lm-eval tasks offline against the job's model (or the stub) and flatten the metrics."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from lm_eval import evaluator, simple_evaluate
from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.tasks import TaskManager

BOOTSTRAP_ITERS = 1000
STDERR_SUFFIX = "_stderr"


class HandleLM(LM):  # type: ignore[misc]
    """lm-eval's model interface on top of a ModelHandle or StubModel.

    Wrapping the handle (rather than lm-eval's `hf` model) keeps one loading path with the
    safetensors/no-remote-code rules, lets validation trial runs use the stub, and gives
    lm-eval jobs the same tokenisation and batching as scripts.
    """

    def __init__(self, handle: Any, batch_size: int = 8) -> None:
        super().__init__()
        self.handle = handle
        self.batch_size = batch_size

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        pairs = [(str(req.args[0]), str(req.args[1])) for req in requests]
        return list(self.handle.loglikelihood(pairs, batch_size=self.batch_size))

    def loglikelihood_rolling(self, requests: list[Instance]) -> list[float]:
        texts = [str(req.args[0]) for req in requests]
        return list(self.handle.loglikelihood_rolling(texts, batch_size=self.batch_size))

    def generate_until(self, requests: list[Instance]) -> list[str]:
        # One generate call per distinct set of generation arguments, answers put back in order.
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        arguments: dict[tuple[Any, ...], dict[str, Any]] = {}
        for index, req in enumerate(requests):
            options = self._generation_options(dict(req.args[1]))
            key = (options["max_new_tokens"], options["temperature"], tuple(options["stop"]))
            groups[key].append(index)
            arguments[key] = options
        answers: list[str] = [""] * len(requests)
        for key, indices in groups.items():
            prompts = [str(requests[i].args[0]) for i in indices]
            outputs = self.handle.generate(prompts, batch_size=self.batch_size, **arguments[key])
            for index, text in zip(indices, outputs, strict=True):
                answers[index] = text
        return answers

    def _generation_options(self, gen_kwargs: dict[str, Any]) -> dict[str, Any]:
        until = gen_kwargs.get("until") or []
        stop = [until] if isinstance(until, str) else list(until)
        eos = getattr(self.handle.tokenizer, "eos_token", None)
        if eos and eos not in stop:
            stop.append(eos)
        requested = int(gen_kwargs.get("max_gen_toks", 256))
        sampling = bool(gen_kwargs.get("do_sample", False))
        temperature = float(gen_kwargs.get("temperature", 0.0) or 0.0) if sampling else 0.0
        return {
            # Leave at least half the window for the prompt.
            "max_new_tokens": max(1, min(requested, self.handle.max_length // 2)),
            "temperature": temperature,
            "stop": stop,
        }


def _json_number(value: Any) -> Any:
    """lm-eval writes "N/A" for missing stderr and may produce NaN/inf: both become null."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    return None


def _flatten_task(raw: dict[str, Any]) -> dict[str, Any]:
    """{"acc,none": .., "acc_stderr,none": ..} → {"acc": .., "acc_stderr": ..}.

    The filter name is kept only when it is not lm-eval's default `none`.
    """
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if "," not in key:
            continue
        metric, filter_name = key.split(",", 1)
        name = metric if filter_name == "none" else f"{metric},{filter_name}"
        flat[name] = _json_number(value)
    return flat


def _load_handle(spec: dict[str, Any]) -> Any:
    seed = int(spec.get("seed", 1234))
    if spec.get("model_path") is None:
        from stub_model import StubModel

        return StubModel.load("stub", device="cpu", seed=seed)
    from model_handle import ModelHandle

    return ModelHandle.load(spec["model_path"], device=spec.get("device", "cpu"), seed=seed)


def _task_manager(include_path: str | list[str] | None) -> TaskManager:
    if include_path:
        # Indexing lm-eval's thousands of bundled YAML files costs seconds and brings tasks
        # that need the network; operators' task directories are the whole registry.
        return TaskManager(include_path=include_path, include_defaults=False)
    return TaskManager()


def _skip_environment_report() -> None:
    # lm-eval records git hashes and torch's collect_env by spawning git, pip and
    # nvidia-smi: seconds of noise in the job log for fields evalpod drops anyway.
    evaluator.get_git_commit_hash = lambda: None
    evaluator.add_env_info = lambda storage: None


def run_lm_eval(spec: dict[str, Any]) -> dict[str, Any]:
    """Evaluate `spec["tasks"]` and return per-task metrics (with `<metric>_stderr`)."""
    _skip_environment_report()
    tasks = list(spec.get("tasks") or [])
    if not tasks:
        raise ValueError("an lm_eval job needs at least one task")
    seed = int(spec.get("seed", 1234))
    results = simple_evaluate(
        model=HandleLM(_load_handle(spec)),
        tasks=tasks,
        num_fewshot=int(spec.get("num_fewshot", 0)),
        limit=spec.get("limit"),
        task_manager=_task_manager(spec.get("task_include_path")),
        bootstrap_iters=BOOTSTRAP_ITERS,
        log_samples=False,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )
    if results is None:
        raise RuntimeError("lm-eval returned no results")
    return {
        "tasks": {name: _flatten_task(raw) for name, raw in results["results"].items()},
        "n_samples": {
            name: counts.get("effective") for name, counts in results.get("n-samples", {}).items()
        },
        "versions": {name: str(v) for name, v in results.get("versions", {}).items()},
        "num_fewshot": int(spec.get("num_fewshot", 0)),
        "limit": spec.get("limit"),
    }
