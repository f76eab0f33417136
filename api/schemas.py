"""Request and response bodies of the evaluations API (write and read schemas apart)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from api.bounded import JSON_INTEGER, JsonFloat, JsonInt
from api.text import SendableJson
from validator.findings import Finding

if TYPE_CHECKING:
    from evalpod.settings import Settings


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


# Text that is stored: PostgreSQL cannot hold NUL.
NO_NUL = r"^[^\x00]*$"


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > 20:
        raise ValueError("at most 20 tags")
    for key, value in tags.items():
        if not key or len(key) > 64 or len(value) > 256:
            raise ValueError("tag keys are 1-64 characters, values at most 256")
        _no_nul(key)
        _no_nul(value)
    return tags


_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
# What `evalpod.callbacks` accepts, as a pattern: http(s), a host name or IPv4 address (no
# credentials), an optional port, a path without spaces or control characters. Whether
# the host resolves to public addresses (and plain http at all) is checked at submit.
CallbackUrl = Annotated[str, Field(
    min_length=1, max_length=2048,
    pattern=rf"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~-]+(:{_PORT})?([/?#][^\x00-\x20\x7f]*)?$",
    description="Called with the evaluation's summary on every terminal status. Unless the "
    "operator allows private callbacks, it must be https and resolve only to public "
    "addresses (refused with INVALID_CONFIG on `callback_url` otherwise).")]
Tags = Annotated[dict[str, str], AfterValidator(_check_tags), WithJsonSchema({
    "type": "object", "maxProperties": 20,
    "propertyNames": {"type": "string", "minLength": 1, "maxLength": 64,
                      "pattern": "^[^\u0000]*$"},
    "additionalProperties": {"type": "string", "maxLength": 256, "pattern": "^[^\u0000]*$"},
})]
ModelId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/-]+$")]
TaskName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")]
# A dataset version, `name@version` (`evalpod.datasets.service.REF`).
DatasetRef = Annotated[str, Field(
    min_length=3, max_length=193,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}@[A-Za-z0-9_.-]{1,64}$")]


class RunConfig(BaseModel):
    """Resources of one run. The maxima here are the absolute ones; a server's document
    states its own (`server_limits`), and a request past them is refused."""

    # JSON numbers only: `"gpus": true` or `"timeout_s": "60"` are refused, not coerced.
    model_config = ConfigDict(extra="forbid")

    timeout_s: JsonInt = Field(default=300, ge=1, le=86_400,
                               description="Wall-clock limit in seconds.")
    gpus: JsonInt = Field(default=0, ge=0, le=16, description="GPUs to assign.")
    memory_mb: JsonInt = Field(default=4096, ge=64, le=1_048_576,
                               description="Memory limit in MiB.")
    cpus: JsonFloat = Field(default=1.0, gt=0, le=64, description="CPU quota in cores.")

    def past_server_limits(self, settings: Settings, gpu_count: int | None
                           ) -> list[dict[str, str]]:
        """The fields past this server's limits (`server_limits`), as envelope errors."""
        problems = []
        if gpu_count is not None and self.gpus > gpu_count:
            problems.append({"field": "config.gpus", "message":
                             f"this host has {gpu_count} GPUs; asked for {self.gpus}"})
        if self.timeout_s > settings.max_timeout_s:
            problems.append({"field": "config.timeout_s",
                             "message": f"at most {settings.max_timeout_s}"})
        if self.memory_mb > settings.max_memory_mb:
            problems.append({"field": "config.memory_mb",
                             "message": f"at most {settings.max_memory_mb}"})
        return problems


def server_limits(document: dict[str, Any], settings: Settings, gpu_count: int | None
                  ) -> None:
    """State this server's limits in its OpenAPI document: `RunConfig`'s maxima become
    the settings' (`max_timeout_s`, `max_memory_mb`) and, where the host's GPUs bound a
    request (local backend), its GPU count; no path or query value holds NUL."""
    properties = document["components"]["schemas"]["RunConfig"]["properties"]
    caps = {"timeout_s": settings.max_timeout_s, "memory_mb": settings.max_memory_mb}
    if gpu_count is not None:
        caps["gpus"] = gpu_count
    for name, cap in caps.items():
        field = properties[name]
        field["maximum"] = min(field["maximum"], cap)
    # The edge refuses NUL anywhere in the path or query (`api.observe`): say so on every
    # string parameter whose pattern does not already.
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") not in ("path", "query"):
                    continue
                schema = parameter.get("schema", {})
                for option in schema.get("anyOf", [schema]):
                    if option.get("type") == "string" and "pattern" not in option:
                        option["pattern"] = NO_NUL
                    items = option.get("items", {})
                    if items.get("type") == "string" and "pattern" not in items:
                        items["pattern"] = NO_NUL


def _kind_rules(schema: dict[str, Any]) -> None:
    """The rule `_kind_fields` enforces, stated in the schema: a script job has a script,
    an lm_eval job names `kind` and at least one task and has no script."""
    schema["examples"] = [{
        "model_id": "tiny-gpt2",
        "script": "def evaluate_model(model):\n    return {\"accuracy\": 1.0}\n",
        "config": {"timeout_s": 300, "gpus": 0, "memory_mb": 4096},
        "tags": {"team": "nlp"},
    }]
    schema["anyOf"] = [
        {"properties": {"kind": {"const": "script"}, "script": {"type": "string"}},
         "required": ["script"]},
        {"properties": {"kind": {"const": "lm_eval"}, "script": {"type": "null"},
                        "tasks": {"type": "array", "minItems": 1}},
         "required": ["kind", "tasks"]},
    ]


class EvaluationCreate(BaseModel):
    """Body of POST /evaluations (and of the dry-run validate)."""

    # Numbers are JSON numbers: `"priority": false` or `"limit": "5"` are refused.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=lambda schema, _cls: _kind_rules(schema),
    )

    kind: Literal["script", "lm_eval"] = "script"
    model_id: ModelId
    script: str | None = Field(default=None, description="Python defining evaluate_model(model).")
    tasks: list[TaskName] | None = Field(default=None, max_length=32)
    num_fewshot: JsonInt = Field(default=0, ge=0, le=32)
    limit: Annotated[int, Field(ge=1, le=100_000), JSON_INTEGER] | None = None
    config: RunConfig = Field(default_factory=RunConfig)
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)
                               ] | None = None
    priority: JsonInt = Field(default=0, ge=-100, le=100)
    tags: Tags = Field(default_factory=dict)
    callback_url: CallbackUrl | None = None
    datasets: list[DatasetRef] | None = Field(
        default=None, max_length=16,
        description="Dataset versions (name@version) mounted read-only at /data and passed "
        "to evaluate_model(model, data); hidden columns are never included.")

    @model_validator(mode="after")
    def _kind_fields(self) -> EvaluationCreate:
        if self.kind == "script" and self.script is None:
            raise ValueError("kind 'script' needs a script")
        if self.kind == "lm_eval" and not self.tasks:
            raise ValueError("kind 'lm_eval' needs at least one task")
        if self.kind == "lm_eval" and self.script is not None:
            raise ValueError("kind 'lm_eval' takes tasks, not a script")
        return self


class EvaluationAccepted(BaseModel):
    evaluation_id: str
    status: str
    queue_position: int | None


class EvaluationStatusOut(BaseModel):
    evaluation_id: str
    status: str


class ViolationOut(BaseModel):
    kind: str = Field(description="timeout, memory, output, processes, disk, network, syscall "
                      "or policy (the runtime guard denied an operation).")
    detail: str
    line: int | None = Field(default=None, description="policy: the script line that asked.")
    target: str | None = Field(default=None,
                               description="policy: the path, module or pid asked for.")


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    reason: str
    at: datetime


class EvaluationSummary(BaseModel):
    """One row of GET /evaluations."""

    evaluation_id: str
    status: str
    kind: str
    model_id: str
    priority: int
    tags: SendableJson
    created_at: datetime
    finished_at: datetime | None = None


class EvaluationOut(EvaluationSummary):
    """The full record of GET /evaluations/{id}."""

    config: SendableJson
    tasks: list[str] | None = None
    findings: list[Finding] = Field(default_factory=list)
    validation: SendableJson | None = None
    result: SendableJson | None = None
    violation: ViolationOut | None = None
    error: str | None = None
    exit_code: int | None = None
    attempts: int = 0
    queue_position: int | None = None
    updated_at: datetime
    validated_at: datetime | None = None
    started_at: datetime | None = None
    transitions: list[TransitionOut] = Field(default_factory=list)
    callbacks: list[CallbackAttemptOut] = Field(default_factory=list)


class EvaluationPage(BaseModel):
    items: list[EvaluationSummary]
    next_cursor: str | None


class StaticTimings(BaseModel):
    duration_ms: float
    analysers: dict[str, float]


class ValidateResponse(BaseModel):
    valid: bool
    errors: list[Finding]
    warnings: list[Finding] = Field(default_factory=list)
    static: StaticTimings | None = Field(
        default=None,
        description="With ?deep=true: the deep static analysis (ast + symtable policy, bandit).",
    )


class CancelResponse(BaseModel):
    evaluation_id: str
    status: str


class PriorityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: JsonInt = Field(ge=-100, le=100)


class CallbackAttemptOut(BaseModel):
    status: str
    attempt: int
    response_code: int | None
    error: str | None
    delivered: bool
    at: datetime
