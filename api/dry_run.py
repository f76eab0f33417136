"""POST /evaluations/validate: the submit checks and, with `deep`, the validator's static
analysis, each stage reported as run or not, with nothing stored."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.evaluation_service import KnownModels, check_config, script_findings
from api.model_service import close_model_ids, model_not_found_hint
from api.schemas import EvaluationCreate, StaticTimings, ValidateResponse
from evalpod.errors import InvalidConfig, InvalidScript, PayloadTooLarge
from evalpod.orm import Model
from evalpod.settings import Settings
from evalpod.task_registry import check_lm_eval_request
from validator.analysis import analyse_script
from validator.findings import Finding, blocking
from validator.policy.config import Policy

StageName = Literal["quick_checks", "model", "static_analysis", "lm_eval_tasks", "trial"]


class Stage(BaseModel):
    """One validation stage of a dry run: whether it ran, and if so whether it passed."""

    name: StageName
    ran: bool
    passed: bool | None = Field(default=None, description="None when the stage did not run.")
    duration_ms: float | None = None
    note: str | None = Field(default=None, description="What the stage covers, or why it "
                             "did not run.")


class DryRunResponse(ValidateResponse):
    """`valid` is the verdict of the stages that ran; `stages` says which those were."""

    stages: list[Stage] = Field(default_factory=list)


_NOTES: dict[StageName, str] = {
    "quick_checks": "config limits, size, parse and the submit-time AST screen",
    "model": "the model is registered",
    "static_analysis": "the validator's static analysis: AST screen, policy engine "
                       "(ast + symtable) and bandit, under the tenant's policy",
    "lm_eval_tasks": "the tasks are installed and the few-shot/limit settings are in range",
    "trial": "not part of a dry run: the trial run in the sandbox, on the model's shadow, "
             "happens after submit",
}


def _stage(name: StageName, findings: list[Finding] | None, started: float | None = None,
           note: str | None = None) -> Stage:
    """A stage that ran (`findings` given) or did not (`findings` None, `note` says why)."""
    if findings is None:
        return Stage(name=name, ran=False, note=note or _NOTES[name])
    duration = None if started is None else round((time.perf_counter() - started) * 1000, 3)
    return Stage(name=name, ran=True, passed=not blocking(findings), duration_ms=duration,
                 note=_NOTES[name])


async def validate(
    session: AsyncSession,
    body: EvaluationCreate,
    settings: Settings,
    *,
    deep: bool,
    policy: dict[str, Any] | None,
    known_models: KnownModels,
    gpu_count: int | None = None,
) -> DryRunResponse:
    """Run the dry-run stages. Raises `InvalidConfig` only for a config past this server's
    limits (a schema rule); every other problem is a finding (EP001 for a parse error, the
    envelope code such as `PAYLOAD_TOO_LARGE` or `MODEL_NOT_FOUND` for the others)."""
    # This server's limits are in its document (`schemas.server_limits`): past them the body
    # is not a valid request (422), as for any other schema rule.
    check_config(body, settings, gpu_count)
    started = time.perf_counter()
    findings: list[Finding] = []
    parsed = True
    try:
        findings = script_findings(body, settings)
    except InvalidScript as exc:
        detail = exc.detail
        parsed = False
        findings = [Finding(rule="EP001", message=detail.get("message", exc.message),
                            line=detail.get("line"), column=detail.get("column"),
                            hint=exc.hint)]
    except PayloadTooLarge as exc:
        parsed = False
        findings = [Finding(rule=exc.code, message=exc.message, hint=exc.hint)]
    except InvalidConfig as exc:  # the script asks for data the submission does not name
        findings = [Finding(rule=exc.code, message=exc.message, hint=exc.hint,
                            line=exc.detail.get("line"))]
    stages = [_stage("quick_checks", findings, started)]

    began = time.perf_counter()
    model = await _model_findings(session, body.model_id, known_models)
    findings += model
    stages.append(_stage("model", model, began))

    timings: StaticTimings | None = None
    if body.kind == "script":
        deep_findings, timings, stage = await _static(body, policy, deep=deep, parsed=parsed)
        stages.append(stage)
        findings = _merge(findings, deep_findings)
    else:
        began = time.perf_counter()
        tasks = (check_lm_eval_request(body.tasks or [], body.num_fewshot, body.limit, settings)
                 if deep else None)
        findings += tasks or []
        stages.append(_stage("lm_eval_tasks", tasks, began,
                             None if deep else "run with ?deep=true"))
    stages.append(_stage("trial", None))
    errors = blocking(findings)
    return DryRunResponse(valid=not errors, errors=errors,
                          warnings=[f for f in findings if f.severity != "error"],
                          static=timings, stages=stages)


async def _static(body: EvaluationCreate, policy: dict[str, Any] | None, *, deep: bool,
                  parsed: bool) -> tuple[list[Finding], StaticTimings | None, Stage]:
    """The validator's own `analyse_script` (same budget, same tenant policy), when asked
    for and when the script could be read at all."""
    if not deep:
        return [], None, _stage("static_analysis", None, note="run with ?deep=true")
    if not parsed or body.script is None:
        return [], None, _stage("static_analysis", None,
                                note="skipped: the script failed the quick checks' parse, "
                                "size or config limits")
    report = await asyncio.to_thread(analyse_script, body.script,
                                     Policy.model_validate(policy or {}))
    stage = Stage(name="static_analysis", ran=True, passed=not report.blocked,
                  duration_ms=report.duration_ms, note=_NOTES["static_analysis"])
    return (list(report.findings),
            StaticTimings(duration_ms=report.duration_ms, analysers=report.analysers), stage)


def _merge(first: list[Finding], second: list[Finding]) -> list[Finding]:
    """Both lists, without the second's repeats of the first (the screen runs in both)."""
    seen = {(f.rule, f.line, f.column) for f in first}
    return first + [f for f in second if (f.rule, f.line, f.column) not in seen]


async def _model_findings(session: AsyncSession, model_id: str, known: KnownModels
                          ) -> list[Finding]:
    if model_id in known:
        return []
    if await session.scalar(select(select(Model.id).where(Model.id == model_id).exists())):
        known.add(model_id)
        return []
    close = await close_model_ids(session, model_id)
    return [Finding(rule="MODEL_NOT_FOUND", message=f"model {model_id!r} is not registered",
                    hint=model_not_found_hint(close))]
