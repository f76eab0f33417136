"""`evalpod models create-tiny` builds the quickstart's tiny-gpt2 trained on the shipped
examples, so examples/qa_exact_match.py scores above zero (a random model scores 0 and
looks broken to a newcomer). The real CLI in subprocesses, the real sandbox.

The test suite's own tiny model (`tiny_model_dir`) stays the random one: tests depend on its
exact outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from evalpod.cli import main; main()"]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=900)


def test_create_tiny_learns_the_quickstart_example(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALPOD_")}
    env["EVALPOD_HOME"] = str(tmp_path / "home")
    assert _cli(env, "db", "upgrade").returncode == 0
    created = _cli(env, "models", "create-tiny")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("tiny-gpt2 at ")
    record = Path(created.stdout.split(" at ", 1)[1].strip()) / "evalpod_training.json"
    assert json.loads(record.read_text())["steps"] > 0  # what scripts/quickstart.sh checks
    ran = _cli(env, "sandbox", "run", str(ROOT / "examples" / "qa_exact_match.py"),
               "--model", "tiny-gpt2", "--json", "--timeout", "600")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = json.loads(ran.stdout)["result"]
    assert result["n"] == 12 and result["empty_answers"] < 12
    assert result["exact_match"] > 0 and result["f1"] > 0, result


def test_the_test_suites_tiny_model_stays_random(tiny_model_dir: Path) -> None:
    # Built without --train: nothing in the test suite's model learnt the examples (its
    # weights are those GPT2LMHeadModel draws from seed 0), so dependent tests keep their
    # expected outputs.
    probe = """
import sys, torch
from transformers import GPT2Config, GPT2LMHeadModel
from safetensors.torch import load_file
config = GPT2Config.from_pretrained(sys.argv[1])
torch.manual_seed(0)
fresh = GPT2LMHeadModel(config).state_dict()
saved = load_file(sys.argv[1] + "/model.safetensors")
print(all(torch.equal(fresh[k], v) for k, v in saved.items() if k in fresh))
"""
    done = subprocess.run([sys.executable, "-c", probe, str(tiny_model_dir)],
                          capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "True", done.stdout + done.stderr
