"""The trial runs on the model's shadow, through the real validator and sandbox (#11).

Scripts the stub-model trial used to reject (the documented `model.model` and
`model.tokenizer` used directly, an annotated dataclass) pass validation; a script
slow for its own reasons gets a finding that names the trial's cap and where its log is.
"""

from __future__ import annotations

from evalpod.db import get_database
from monitor.supervisor import DRAIN_TIMEOUT_S
from orchestrator.sandbox import get_backend
from tests.stack import Stack
from validator.trial import run_trial, trial_findings

# Validation passed (the real run is other tests' business).
PASSED = {"validated", "executing", "succeeded"}

# The examples: tokenizer called directly, logits and a loss from the model itself.
DIRECT_USE = '''
import torch


def evaluate_model(model):
    tok = model.tokenizer
    texts = ["The capital of France is Paris.", "Two plus two is four."]
    enc = tok(texts, return_tensors="pt", padding=True)
    model.model.eval()
    with torch.no_grad():
        logits = model.model(**enc).logits
        ids = tok(texts[0], return_tensors="pt").input_ids
        loss = model.model(ids, labels=ids).loss
    scores = model.loglikelihood([("The capital of France is", " Paris")])
    answer = model.generate(["The capital of France is"], max_new_tokens=3)
    return {"vocab_logits": int(logits.shape[-1]), "loss": float(loss),
            "ll": scores[0][0], "answer_chars": len(answer[0])}
'''

DATACLASS = '''
from dataclasses import dataclass, field


@dataclass
class Example:
    prompt: str
    answer: str
    tags: list[str] = field(default_factory=list)


def evaluate_model(model):
    examples = [Example("The capital of France is", " Paris"), Example("Two plus two is", " four")]
    scores = model.loglikelihood([(e.prompt, e.answer) for e in examples])
    return {"mean_ll": sum(s for s, _ in scores) / len(scores)}
'''

QUICK = '''
def evaluate_model(model):
    return {"n": len(model.tokenizer("hello world").input_ids)}
'''

SLOW = '''
def evaluate_model(model):
    total = 0
    for i in range(10 ** 12):
        total += i % 7
    return {"total": total}
'''


async def test_direct_model_and_tokenizer_use_passes_the_trial_and_runs(stack: Stack) -> None:
    response = await stack.submit(DIRECT_USE)
    assert response.status_code == 202, response.text
    record = await stack.wait_for(response.json()["evaluation_id"], PASSED, timeout_s=300)
    assert record["findings"] == []
    assert record["validation"]["trial"]["passed"] is True


async def test_annotated_dataclass_passes_the_trial(stack: Stack) -> None:
    response = await stack.submit(DATACLASS)
    assert response.status_code == 202, response.text
    record = await stack.wait_for(response.json()["evaluation_id"], PASSED, timeout_s=300)
    assert record["validation"]["trial"]["passed"] is True


async def test_a_slow_script_gets_a_finding_naming_the_trial_cap(stack: Stack) -> None:
    # The real trial (validator.trial) on the real shadow and sandbox, under a short cap.
    settings = stack.settings.model_copy(update={"trial_timeout_s": 8})
    report = await run_trial(get_backend("local"), "slow-trial", SLOW, settings,
                             model_id="tiny-gpt2", db=get_database(settings.database_dsn()))
    assert report.violation is not None and report.violation["kind"] == "timeout"
    [finding] = trial_findings(report)
    assert finding.rule == "TRIAL-TIMEOUT"
    assert "8 s" in finding.message and "the model had loaded after" in finding.message
    assert "EVALPOD_TRIAL_TIMEOUT_S" in finding.hint and "evalpod logs" in finding.hint


async def test_the_cap_counts_from_the_model_load_not_from_launch(stack: Stack) -> None:
    # Start-up (interpreter, torch, the shadow) takes longer than a 1 s cap on any host:
    # counted from launch, the quick script would be rejected.
    settings = stack.settings.model_copy(update={"trial_timeout_s": 1, "trial_startup_s": 300})
    report = await run_trial(get_backend("local"), "quick-trial", QUICK, settings,
                             model_id="tiny-gpt2", db=get_database(settings.database_dsn()))
    assert report.passed, report
    assert report.startup_s is not None and report.startup_s > settings.trial_timeout_s
    # duration_s is the script's own time, the clock the cap counts, start-up apart (the
    # new user's cold trial said "succeeded after 37.90 s" under a 20 s cap).
    assert report.duration_s < report.startup_s, report
    assert report.duration_s <= settings.trial_timeout_s + DRAIN_TIMEOUT_S, report
    print(f"trial: script {report.duration_s:.1f} s, start-up {report.startup_s:.1f} s")


async def test_a_model_that_never_loads_is_a_timeout_that_says_so(stack: Stack) -> None:
    # No start-up allowance and a 1 s cap: torch alone takes longer to import.
    settings = stack.settings.model_copy(update={"trial_timeout_s": 1, "trial_startup_s": 0})
    report = await run_trial(get_backend("local"), "unloaded-trial", QUICK, settings,
                             model_id="tiny-gpt2", db=get_database(settings.database_dsn()))
    assert report.startup_s is None
    [finding] = trial_findings(report)
    assert finding.rule == "TRIAL-TIMEOUT"
    assert "the trial's model did not load within 1 s" in finding.message


def test_the_trial_cap_is_the_shorter_of_the_setting_and_the_evaluations_timeout() -> None:
    from evalpod.settings import Settings
    from validator.trial import script_cap_s

    settings = Settings(trial_timeout_s=20)
    assert script_cap_s(settings, None) == 20
    assert script_cap_s(settings, 300) == 20
    assert script_cap_s(settings, 5) == 5  # `evalpod submit --timeout 5`: 5 s in the trial too


async def test_an_evaluations_shorter_timeout_caps_its_trial_and_the_message_says_so(
        stack: Stack) -> None:
    # New user: `--timeout 5` and a script that never ends was let run the trial's 20 s.
    settings = stack.settings.model_copy(update={"trial_timeout_s": 120})
    report = await run_trial(get_backend("local"), "capped-trial", SLOW, settings,
                             model_id="tiny-gpt2", db=get_database(settings.database_dsn()),
                             job_timeout_s=3)
    assert report.violation is not None and report.violation["kind"] == "timeout", report
    detail = report.violation["detail"]
    assert "the trial's cap of 3 s" in detail, detail
    assert "the evaluation's timeout_s, below EVALPOD_TRIAL_TIMEOUT_S = 120 s" in detail
    assert report.startup_s is not None and report.duration_s < report.startup_s + 60
