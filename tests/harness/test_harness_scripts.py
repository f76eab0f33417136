"""The harness runs scripts against the real handle and the stub, and reports failures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import HARNESS, REPO, HarnessRun, RunHarness, run_harness_in

EVERY_METHOD = """
import math

def evaluate_model(model):
    print("device", model.device)
    params = sum(p.numel() for p in model.model.parameters())
    tokens = model.tokenizer.encode("Hello world")
    greedy = model.generate(["Hello", "The capital of France is"], max_new_tokens=6)
    alone = model.generate(["The capital of France is"], max_new_tokens=6, batch_size=1)
    sampled = model.generate(["Once upon a time"], max_new_tokens=6, temperature=0.8)
    stop = [greedy[0][:1]] if greedy[0] else None
    stopped = model.generate(["Hello"], max_new_tokens=6, stop=stop)
    pairs = [("Question: 2 + 2 =", " 4"), ("", "Hello"), ("The answer is ", "yes")]
    batched = model.loglikelihood(pairs)
    single = model.loglikelihood(pairs, batch_size=1)
    long_text = "The quick brown fox jumps over the lazy dog. " * 60
    ppl = model.perplexity(["Hello world.", long_text], batch_size=2)
    rolling = model.loglikelihood_rolling(["Hello world."])
    unconditional = model.loglikelihood([("", "Hello world.")])[0][0]
    return {
        "device": str(model.device),
        "params": params,
        "n_tokens": len(tokens),
        "long_tokens": len(model.tokenizer.encode(long_text)),
        "max_length": model.max_length,
        "padding_invariant": greedy[1] == alone[0],
        "stop_ok": stopped == [""] if stop else True,
        "sampled": sampled[0],
        "greedy": greedy,
        "batch_invariant_ll": max(abs(a[0] - b[0]) for a, b in zip(batched, single)),
        "ll_all_negative": all(lp <= 0 for lp, _ in batched),
        "ll_greedy_are_bools": all(isinstance(g, bool) for _, g in batched),
        "ppl": ppl,
        "rolling_matches_ll": abs(rolling[0] - unconditional),
    }
"""


@pytest.fixture(scope="module")
def every_method_run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> HarnessRun:
    return run_harness_in(
        tmp_path_factory.mktemp("every"), EVERY_METHOD, model_path=str(tiny_model_dir), seed=7
    )


def test_every_handle_method_works(every_method_run: HarnessRun) -> None:
    run = every_method_run
    assert run.returncode == 0, run.stderr
    assert run.result is not None and run.result["ok"] is True
    metrics = run.result["metrics"]
    assert metrics["device"] == "cpu"
    assert 100_000 < metrics["params"] < 1_000_000
    assert metrics["n_tokens"] > 0
    assert metrics["long_tokens"] > metrics["max_length"]  # exercises the sliding window
    assert metrics["padding_invariant"] is True
    assert metrics["stop_ok"] is True
    assert metrics["batch_invariant_ll"] < 1e-4
    assert metrics["ll_all_negative"] is True and metrics["ll_greedy_are_bools"] is True
    assert all(1.0 < p < 10_000 for p in metrics["ppl"])
    assert metrics["rolling_matches_ll"] < 1e-4


def test_same_seed_gives_same_metrics(
    every_method_run: HarnessRun, run_harness: RunHarness, tiny_model_dir: Path
) -> None:
    again = run_harness(EVERY_METHOD, model_path=str(tiny_model_dir), seed=7)
    assert again.result is not None and again.result["ok"] is True
    assert again.result == every_method_run.result


def test_every_handle_method_works_on_the_stub(run_harness: RunHarness) -> None:
    script = EVERY_METHOD.replace("sum(p.numel() for p in model.model.parameters())", "0")
    run = run_harness(script, model_path=None)
    assert run.returncode == 0, run.stderr
    assert run.result is not None and run.result["ok"] is True
    assert run.result["metrics"]["padding_invariant"] is True


def test_raising_script_fails_with_traceback(run_harness: RunHarness) -> None:
    script = "def evaluate_model(model):\n    raise ValueError('boom at step 3')\n"
    run = run_harness(script, model_path=None)
    assert run.returncode == 1
    assert run.result == {
        "ok": False,
        "error": "ValueError: boom at step 3",
        "error_type": "ValueError",
        "error_line": 2,
    }
    assert "Traceback" in run.stderr and 'evaluation.py", line 2' in run.stderr


def test_non_dict_result_fails(run_harness: RunHarness) -> None:
    run = run_harness("def evaluate_model(model):\n    return [1, 2]\n", model_path=None)
    assert run.returncode == 1
    assert run.result is not None and run.result["ok"] is False
    assert run.result["error_type"] == "TypeError"
    assert "must return a dict" in run.result["error"]


def test_missing_entry_point_fails(run_harness: RunHarness) -> None:
    run = run_harness("x = 1\n", model_path=None)
    assert run.returncode == 1
    assert run.result is not None and "evaluate_model" in run.result["error"]


def test_non_json_metric_fails(run_harness: RunHarness) -> None:
    script = "def evaluate_model(model):\n    return {'x': object()}\n"
    run = run_harness(script, model_path=None)
    assert run.returncode == 1
    assert run.result is not None and "metrics.x is a object" in run.result["error"]


def test_nan_and_inf_become_null(run_harness: RunHarness) -> None:
    script = (
        "def evaluate_model(model):\n"
        "    return {'nan': float('nan'), 'inf': float('inf'), 'ok': 0.5, 'n': [1, 2]}\n"
    )
    run = run_harness(script, model_path=None)
    assert run.returncode == 0, run.stderr
    assert run.result == {"ok": True, "metrics": {"nan": None, "inf": None, "ok": 0.5, "n": [1, 2]}}


def test_prints_reach_stdout_in_order(run_harness: RunHarness) -> None:
    script = (
        "def evaluate_model(model):\n"
        "    for i in range(3):\n"
        "        print('step', i)\n"
        "    return {}\n"
    )
    run = run_harness(script, model_path=None)
    assert run.returncode == 0
    assert run.stdout.splitlines() == ["step 0", "step 1", "step 2"]


def test_unreadable_spec_exits_2(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text("{not json")
    done = subprocess.run(
        [sys.executable, "-I", str(HARNESS), str(spec)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "unreadable job spec" in done.stderr


PARITY_PROBE = """
import inspect, json, sys
sys.path.insert(0, sys.argv[1])
from model_handle import ModelHandle
from stub_model import StubModel

def public(cls):
    out = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or not callable(member):
            continue
        sig = inspect.signature(member)
        out[name] = [(p.name, p.kind.name, repr(p.default), str(p.annotation))
                     for p in sig.parameters.values()]
    return out

def attrs(obj):
    return sorted(n for n in vars(obj) if not n.startswith("_"))

print(json.dumps({
    "handle": public(ModelHandle), "stub": public(StubModel),
    "stub_attrs": attrs(StubModel.load("x")),
}))
"""


def test_stub_has_the_handle_interface() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-c", PARITY_PROBE, str(REPO / "sandbox_images" / "harness")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["handle"] == found["stub"]
    assert set(found["handle"]) >= {
        "load",
        "generate",
        "loglikelihood",
        "loglikelihood_rolling",
        "perplexity",
    }
    assert {"model", "tokenizer", "device", "seed", "max_length"} <= set(found["stub_attrs"])


def test_bare_string_instead_of_list_is_rejected(run_harness: RunHarness) -> None:
    script = "def evaluate_model(model):\n    return {'out': model.generate('Hello')}\n"
    run = run_harness(script, model_path=None)
    assert run.returncode == 1
    assert run.result is not None and "prompts must be a list" in run.result["error"]
