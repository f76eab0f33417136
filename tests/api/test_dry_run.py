"""POST /evaluations/validate says which stages ran, and `deep` is the validator's analysis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from validator.analysis import analyse_script
from validator.findings import blocking

GOOD = "import torch\n\n\ndef evaluate_model(model):\n    return {'accuracy': 1.0}\n"
# Passes the submit-time screen; the policy engine refuses it (an unlisted torch gadget).
GADGET = ("import torch\n\n\ndef evaluate_model(model):\n"
          "    torch.utils.collect_env.run('id')\n    return {}\n")
CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def body(**extra: Any) -> dict[str, Any]:
    return {"model_id": "tiny-gpt2", "script": GOOD, **extra}


def stages(report: dict[str, Any]) -> dict[str, tuple[bool, bool | None]]:
    return {s["name"]: (s["ran"], s["passed"]) for s in report["stages"]}


async def _validate(client: httpx.AsyncClient, deep: bool, **extra: Any) -> dict[str, Any]:
    response = await client.post("/evaluations/validate", json=body(**extra),
                                 params={"deep": "true"} if deep else {})
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def test_quick_dry_run_says_the_static_analysis_did_not_run(
    client: httpx.AsyncClient,
) -> None:
    report = await _validate(client, False, script=GADGET)
    assert report["valid"] is True and report["static"] is None
    assert stages(report) == {"quick_checks": (True, True), "model": (True, True),
                              "static_analysis": (False, None), "trial": (False, None)}
    notes = {s["name"]: s["note"] for s in report["stages"]}
    assert "deep=true" in notes["static_analysis"] and "after submit" in notes["trial"]


async def test_deep_dry_run_refuses_what_the_validator_refuses(
    client: httpx.AsyncClient,
) -> None:
    report = await _validate(client, True, script=GADGET)
    assert report["valid"] is False
    assert stages(report)["static_analysis"] == (True, False)
    assert {f["rule"] for f in report["errors"]} == {"EP107"}
    assert report["static"]["analysers"].keys() >= {"policy", "bandit"}


async def test_deep_dry_run_still_analyses_a_script_the_screen_refused(
    client: httpx.AsyncClient,
) -> None:
    script = "import os\n" + GADGET
    report = await _validate(client, True, script=script)
    assert stages(report)["quick_checks"] == (True, False)
    assert stages(report)["static_analysis"] == (True, False)
    assert {"EP102", "EP107"} <= {f["rule"] for f in report["errors"]}


async def test_unparseable_script_skips_the_static_analysis(client: httpx.AsyncClient) -> None:
    report = await _validate(client, True, script="def f(:\n")
    assert report["errors"][0]["rule"] == "EP001"
    assert stages(report)["static_analysis"] == (False, None)


async def test_unknown_model_is_a_finding(client: httpx.AsyncClient) -> None:
    report = await _validate(client, False, model_id="no-such-model")
    assert report["valid"] is False and stages(report)["model"] == (True, False)
    assert [f["rule"] for f in report["errors"]] == ["MODEL_NOT_FOUND"]


async def test_deep_lm_eval_checks_the_tasks(client: httpx.AsyncClient) -> None:
    report = await _validate(client, True, kind="lm_eval", script=None,
                             tasks=["no_such_task_anywhere"])
    assert report["valid"] is False and stages(report)["lm_eval_tasks"] == (True, False)
    assert [f["rule"] for f in report["errors"]] == ["LMEVAL-TASK"]


@pytest.mark.parametrize("name", ["evasion/format_globals.py", "evasion/torch_hub.py",
                                  "benign/prompt_templates.py", "benign/perplexity.py"])
async def test_deep_verdict_matches_the_validator(client: httpx.AsyncClient, name: str) -> None:
    source = (CORPUS / name).read_text(encoding="utf-8")
    report = await _validate(client, True, script=source)
    expected = analyse_script(source, budget_s=30.0)
    assert report["valid"] is not expected.blocked
    assert {f["rule"] for f in report["errors"]} == {f.rule for f in blocking(expected.findings)}


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items()
                if k not in {"duration_ms", "analysers"}}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


async def test_the_documented_example_is_what_the_server_answers(
    client: httpx.AsyncClient,
) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    section = docs[docs.index("evaluations/validate?deep=true"):]
    documented = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    script = section.split("\"script\":\"", 1)[1].split("\"}'", 1)[0]
    report = await _validate(client, True, script=json.loads(f'"{script}"'))
    assert _without_timings(report) == _without_timings(documented)
