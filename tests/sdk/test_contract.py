"""The SDK's models and errors agree with the server: OpenAPI schemas and envelope codes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from api.app import create_app
from evalpod import errors as server_errors
from evalpod.sdk import errors, models
from evalpod.settings import get_settings

CONTRACT = Path("/work/shared/CONTRACT.md")

# SDK model -> the OpenAPI component it reads.
PAIRS: list[tuple[type[BaseModel], str]] = [
    (models.Accepted, "EvaluationAccepted"),
    (models.StatusInfo, "EvaluationStatusOut"),
    (models.Finding, "Finding"),
    (models.Violation, "ViolationOut"),
    (models.Transition, "TransitionOut"),
    (models.CallbackAttempt, "CallbackAttemptOut"),
    (models.EvaluationSummary, "EvaluationSummary"),
    (models.Evaluation, "EvaluationOut"),
    (models.EvaluationPage, "EvaluationPage"),
    (models.StaticTimings, "StaticTimings"),
    (models.ValidationReport, "DryRunResponse"),
    (models.ValidationStage, "Stage"),
    (models.CancelResult, "CancelResponse"),
    (models.Model, "ModelOut"),
    (models.ModelPage, "ModelPage"),
    (models.ModelRef, "ModelRef"),
    (models.LineageEvaluation, "LineageEvaluation"),
    (models.StageEvent, "StageEventOut"),
    (models.ModelDetail, "ModelDetail"),
    (models.TaskInfo, "TaskInfo"),
    (models.TaskList, "TaskList"),
    (models.QuotaUsage, "QuotaUsage"),
    (models.CallbackSigning, "CallbackSigning"),
    (models.TenantInfo, "TenantOut"),
    (models.ApiKeyInfo, "ApiKeyOut"),
    (models.ApiKeyList, "ApiKeyList"),
    (models.CallbackSecret, "CallbackSecretOut"),
    (models.EvaluationCreate, "EvaluationCreate"),
    (models.RunConfig, "RunConfig"),
]


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    document = create_app(get_settings()).openapi()
    components: dict[str, Any] = document["components"]["schemas"]
    return components


@pytest.mark.parametrize(("sdk_model", "component"), PAIRS, ids=[c for _, c in PAIRS])
def test_sdk_model_has_the_fields_of_the_openapi_schema(
    sdk_model: type[BaseModel], component: str, schemas: dict[str, Any]
) -> None:
    # Two modules' models of one name are listed under module-qualified names.
    name = component if component in schemas else next(
        k for k in schemas if k.endswith(f"findings__{component}"))
    schema = schemas[name]
    assert set(sdk_model.model_fields) == set(schema["properties"]), component
    # What the server always sends, the SDK may require; nothing the server may omit.
    required_by_sdk = {n for n, f in sdk_model.model_fields.items() if f.is_required()}
    assert required_by_sdk <= set(schema.get("required", [])), component


def test_every_envelope_code_has_its_own_exception() -> None:
    contract_codes = set(re.findall(r"`([A-Z_]{6,})` \d{3}", CONTRACT.read_text())) \
        if CONTRACT.exists() else set()
    server_codes = {cls.code for cls in _subclasses(server_errors.EvalpodError)}
    for code in contract_codes | server_codes:
        assert code in errors.ERRORS, code
        assert errors.ERRORS[code].code == code


def test_an_envelope_becomes_its_typed_exception_with_every_field() -> None:
    response = httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {
        "code": "QUOTA_EXCEEDED", "message": "3 evaluations are live", "hint": "wait",
        "detail": {"limit": 3}, "timestamp": "2026-01-01T00:00:00Z"}})
    error = errors.ApiError.from_response(response)
    assert isinstance(error, errors.QuotaExceeded)
    assert (error.status_code, error.code, error.message, error.hint, error.detail,
            error.retry_after_s) == (429, "QUOTA_EXCEEDED", "3 evaluations are live", "wait",
                                     {"limit": 3}, 7.0)


def test_a_body_that_is_not_an_envelope_still_gives_an_api_error() -> None:
    error = errors.ApiError.from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert type(error) is errors.ApiError
    assert error.code == "HTTP_502" and "bad gateway" in error.message
    unknown = errors.ApiError.from_response(httpx.Response(418, json={"error": {
        "code": "TEAPOT", "message": "short and stout"}}))
    assert unknown.code == "TEAPOT" and str(unknown) == "TEAPOT: short and stout"


def _subclasses(cls: type[server_errors.EvalpodError]
                ) -> set[type[server_errors.EvalpodError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_the_sdk_loads_no_server_code() -> None:
    import subprocess
    import sys

    probe = ("import sys; from evalpod import Client, AsyncClient; "
             "print(sorted(m for m in ('api', 'arq', 'fastapi', 'redis', 'sqlalchemy', 'torch',"
             " 'validator', 'orchestrator') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60, check=True).stdout.strip()
    assert loaded == "[]"
