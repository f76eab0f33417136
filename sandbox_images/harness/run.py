"""In-sandbox entry point: `python -I run.py /job/spec.json`.

Loads the model (or the stub), runs the job, writes a `HarnessResult`-shaped JSON
to the spec's result path. Exit code 0 only when the job succeeded, 1 when it failed,
2 when the spec itself is unreadable. Runs with `-I`, so it puts its own directory on
sys.path and imports nothing of evalpod.
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Set before any Hugging Face import: the sandbox has no network, and a library that
# tried to reach the hub would hang until its timeout instead of failing fast.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    # lm-eval's rolling scoring draws progress bars that no setting turns off.
    "TQDM_DISABLE": "1",
}
MAX_ERROR_CHARS = 4000
# orchestrator.sandbox.HarnessSpec's defaults; the harness cannot import it.
SPEC_DEFAULTS: dict[str, Any] = {
    "kind": "script",
    "script_path": "/job/script.py",
    "result_path": "/out/result.json",
    "model_path": "/model",
    "model_id": "stub",
    "shadow": False,
    "tasks": [],
    "task_include_path": None,
    "num_fewshot": 0,
    "limit": None,
    "seed": 1234,
    "device": "cpu",
    "datasets": {},
    "data_row_limit": None,
    "options": {},
}


def _log(message: str) -> None:
    print(f"[evalpod] {message}", file=sys.stderr, flush=True)


def _write_result(path: str, payload: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, allow_nan=False)
    os.replace(tmp, path)


def to_json_value(value: Any, where: str = "metrics") -> Any:
    """A JSON-safe copy of `value`: NaN/inf become null, numpy/torch scalars plain numbers."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"{where} has a non-string key")
        return {key: to_json_value(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    scalar = getattr(value, "item", None)
    if callable(scalar):
        try:
            return to_json_value(scalar(), where)
        except (TypeError, ValueError, RuntimeError):
            pass
    raise TypeError(f"{where} is a {type(value).__name__}, not a JSON value")


def _load_model(spec: dict[str, Any]) -> Any:
    seed = int(spec.get("seed", 1234))
    if spec.get("model_path") is None:
        # Only `evalpod sandbox run` without --model: no model is involved at all.
        from stub_model import StubModel

        _log("no model: using the torch-free stub")
        return StubModel.load("stub", device="cpu", seed=seed)
    from model_handle import ModelHandle

    if spec.get("shadow"):
        _log(f"trial run: loading the shadow of {spec.get('model_id', '?')} (same architecture"
             " and tokenizer, scaled down, random weights)")
    else:
        _log(f"loading model {spec.get('model_id', '?')}")
    handle = ModelHandle.load(spec["model_path"], device=spec.get("device", "cpu"), seed=seed)
    _log(f"model loaded on {handle.device}")
    return handle


def _run_script(spec: dict[str, Any]) -> dict[str, Any]:
    source = Path(spec["script_path"]).read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "evaluation"}
    exec(compile(source, "evaluation.py", "exec"), namespace)
    evaluate = namespace.get("evaluate_model")
    if not callable(evaluate):
        raise TypeError("the script does not define evaluate_model(model)")
    model = _load_model(spec)
    if _takes_data(evaluate):
        from data_loader import load_data

        metrics = evaluate(model, load_data(spec))
    else:
        metrics = evaluate(model)
    if not isinstance(metrics, dict):
        raise TypeError(f"evaluate_model must return a dict, got {type(metrics).__name__}")
    return dict(to_json_value(metrics))


def _takes_data(function: Any) -> bool:
    """evaluate_model(model, data): a second positional parameter receives the datasets."""
    import inspect

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional)


def _run(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec.get("kind", "script")
    if kind == "lm_eval":
        from lm_eval_job import run_lm_eval

        return dict(to_json_value(run_lm_eval(spec)))
    if kind == "dataset_check":
        from dataset_check import describe, run_check

        report = run_check(spec)
        _log(describe(report).rstrip() or "no findings")
        return dict(to_json_value(report))
    if kind == "score":
        from scorer import run_scorer

        return dict(to_json_value(run_scorer(spec)))
    return _run_script(spec)


def main(argv: list[str]) -> int:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    # Piped stdout is block-buffered by default; the job log must be live.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    try:
        spec = SPEC_DEFAULTS | json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        result_path = str(spec["result_path"])
    except (IndexError, OSError, ValueError, TypeError) as exc:
        _log(f"unreadable job spec: {exc}")
        return 2
    try:
        metrics = _run(spec)
    except BaseException as exc:
        traceback.print_exc()
        sys.stderr.flush()
        _write_result(
            result_path,
            {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS],
                "error_type": type(exc).__name__,
            },
        )
        return 1
    _write_result(result_path, {"ok": True, "metrics": metrics})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
