"""Pydantic models of the API's JSON, mirroring the OpenAPI document (`/api/openapi.json`).

Responses are read with `extra="allow"`: a newer server may add fields without breaking an
older SDK, and the added fields stay reachable (`model.model_extra`). Field names equal the
OpenAPI schema's properties (tests/sdk checks them against the document).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    model_validator,
)

from evalpod.logs.events import LogLine, parse_log_data
from evalpod.logs.progress import Progress, parse_progress_data
from evalpod.sdk.hints import for_sdk

EvaluationStatus = Literal["pending_validation", "validation_failed", "validated", "executing",
                           "succeeded", "failed", "killed", "cancelled"]
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"validation_failed", "succeeded", "failed", "killed", "cancelled"})


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


# -- requests ---------------------------------------------------------------------------------

class RunConfig(BaseModel):
    """Resources of one run (`RunConfig`): wall limit in seconds, GPUs, memory in MiB, cores."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: int = 300
    gpus: int = 0
    memory_mb: int = 4096
    cpus: float = 1.0


class EvaluationCreate(BaseModel):
    """Body of POST /evaluations and /evaluations/validate (`EvaluationCreate`)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["script", "lm_eval"] = "script"
    model_id: str
    script: str | None = None
    tasks: list[str] | None = None
    num_fewshot: int = 0
    limit: int | None = None
    config: RunConfig = Field(default_factory=RunConfig)
    idempotency_key: str | None = None
    priority: int = 0
    tags: dict[str, str] = Field(default_factory=dict)
    callback_url: str | None = None
    datasets: list[str] | None = None


# -- evaluations ------------------------------------------------------------------------------

class Accepted(ApiModel):
    """`EvaluationAccepted`: the answer to a submit."""

    evaluation_id: str
    status: str
    queue_position: int | None = None


class StatusInfo(ApiModel):
    """`EvaluationStatusOut`."""

    evaluation_id: str
    status: str


class Finding(ApiModel):
    """One problem in a script; `error` findings block it. `line` and `column` are 1-based.

    `hint` names SDK calls (`Client.models()`), as `ApiError.hint` does; `api_hint` is the
    server's text, which names HTTP routes.
    """

    rule: str
    severity: str = "error"
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None
    _api_hint: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _sdk_hint(cls, data: Any, handler: ModelWrapValidatorHandler[Finding]) -> Finding:
        raw = data.get("hint") if isinstance(data, dict) else None
        if isinstance(raw, str):
            data = {**data, "hint": for_sdk(raw)}
        finding = handler(data)
        if isinstance(raw, str):
            finding._api_hint = raw
        return finding

    @property
    def api_hint(self) -> str | None:
        return self._api_hint if self._api_hint is not None else self.hint


class Violation(ApiModel):
    """Why a run was killed: `kind` (timeout, memory, output, processes, disk, network,
    syscall, policy) and `detail`; for `policy`, the script `line` and the `target` asked for."""

    kind: str
    detail: str
    line: int | None = None
    target: str | None = None


class Transition(ApiModel):
    from_status: str | None
    to_status: str
    actor: str
    reason: str
    at: datetime


class CallbackAttempt(ApiModel):
    status: str
    attempt: int
    response_code: int | None
    error: str | None
    delivered: bool
    at: datetime


class EvaluationSummary(ApiModel):
    """One row of GET /evaluations."""

    evaluation_id: str
    status: str
    kind: str
    model_id: str
    priority: int
    tags: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class Evaluation(EvaluationSummary):
    """The full record of GET /evaluations/{id} (`EvaluationOut`)."""

    config: dict[str, Any]
    tasks: list[str] | None = None
    findings: list[Finding] = Field(default_factory=list)
    validation: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    violation: Violation | None = None
    error: str | None = None
    exit_code: int | None = None
    attempts: int = 0
    queue_position: int | None = None
    updated_at: datetime
    validated_at: datetime | None = None
    started_at: datetime | None = None
    transitions: list[Transition] = Field(default_factory=list)
    callbacks: list[CallbackAttempt] = Field(default_factory=list)


class EvaluationPage(ApiModel):
    items: list[EvaluationSummary]
    next_cursor: str | None


class StaticTimings(ApiModel):
    duration_ms: float
    analysers: dict[str, float]


class ValidationStage(ApiModel):
    """`Stage`: one check of a dry run; `passed` is None when it did not run (`note` says why)."""

    name: str
    ran: bool
    passed: bool | None = None
    duration_ms: float | None = None
    note: str | None = None


class ValidationReport(ApiModel):
    """`DryRunResponse`: the dry run's verdict, stage by stage; nothing is stored."""

    valid: bool
    errors: list[Finding]
    warnings: list[Finding] = Field(default_factory=list)
    static: StaticTimings | None = None
    stages: list[ValidationStage] = Field(default_factory=list)


class CancelResult(ApiModel):
    """`CancelResponse`."""

    evaluation_id: str
    status: str


class LogEvent(ApiModel):
    """One Server-Sent Event of GET /evaluations/{id}/logs.

    `event` is `log` (`data` is a JSON `LogLine`: read it with `line()`), `progress`
    (`data` is a JSON `Progress`: read it with `progress()`), `end` (`data` is the
    terminal status the stream saw; read the record for the outcome), or another type the
    server documents (docs/api.md).
    """

    event: str
    data: str
    id: str | None = None

    def line(self) -> LogLine | None:
        """A `log` event's line (text, phase, source, continues); None for other events."""
        return parse_log_data(self.data) if self.event == "log" else None

    def progress(self) -> Progress | None:
        """A `progress` event's report (bar, done, total, description, rate, eta_s,
        elapsed_s, phase); None for other events and for data that is not a report."""
        return parse_progress_data(self.data) if self.event == "progress" else None


# -- models -----------------------------------------------------------------------------------

class Model(ApiModel):
    """`ModelOut`: one registered model."""

    id: str
    name: str
    family: str | None
    stage: str
    parent_id: str | None
    parameters: int | None
    dtype: str | None
    context_length: int | None
    checksum: str
    evaluation_policy: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class ModelPage(ApiModel):
    items: list[Model]
    next_cursor: str | None


class ModelRef(ApiModel):
    id: str
    name: str
    stage: str


class LineageEvaluation(ApiModel):
    evaluation_id: str
    status: str
    kind: str
    tags: dict[str, Any]
    finished_at: datetime | None
    metrics: dict[str, Any]


class StageEvent(ApiModel):
    """`StageEventOut`."""

    from_stage: str
    to_stage: str
    actor: str
    reason: str
    approval_ref: str | None
    evaluation_ids: list[str]
    at: datetime


class ModelDetail(Model):
    """GET /models/{id}: the model, its lineage, your evaluations on it, its stage history."""

    parents: list[ModelRef]
    children: list[ModelRef]
    evaluations: list[LineageEvaluation]
    stage_history: list[StageEvent]


class TaskInfo(ApiModel):
    """One lm-eval task of GET /lm-eval/tasks."""

    name: str
    output_type: str | None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    num_rows: int | None = None
    source: str


class TaskList(ApiModel):
    tasks: list[TaskInfo]


# -- tenant and keys --------------------------------------------------------------------------

class QuotaUsage(ApiModel):
    """One limit and how much of it is used now (`remaining` = limit - used, at least 0)."""

    limit: int
    used: int
    remaining: int


class CallbackSigning(ApiModel):
    """Where the tenant's callback signing secret stands (the secret itself is never shown)."""

    rotated_at: datetime | None
    previous_valid_until: datetime | None


class TenantInfo(ApiModel):
    """GET /tenant: the caller's tenant, its effective limits and its usage against quotas."""

    tenant_id: str
    name: str
    created_at: datetime
    key_id: str
    role: str
    limits: dict[str, int]
    usage: dict[str, QuotaUsage]
    callback_signing: CallbackSigning


class ApiKeyInfo(ApiModel):
    """One API key (never its secret): id, tenant, role, the first characters, when made/revoked."""

    key_id: str
    tenant_id: str
    tenant_name: str
    role: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyList(ApiModel):
    items: list[ApiKeyInfo]


class CallbackSecret(ApiModel):
    """A new callback signing secret, shown once; the old one also signs until
    `previous_valid_until`."""

    tenant_id: str
    callback_secret: str
    previous_valid_until: datetime | None
