"""Hints the SDK hands its caller name SDK calls, not the HTTP routes the server's hints name
(new user: `ModelNotFound.hint` said "GET /api/v1/models"). Every hint in the server's
source is checked (the CLI's test reads them the same way), and the CLI still says its
own commands from the server's words (`ApiError.api_hint`)."""

from __future__ import annotations

import re

import httpx
import pytest

from evalpod.cli.output import describe
from evalpod.sdk import errors
from evalpod.sdk.hints import for_sdk
from tests.cli.test_hints import HINTS

# What the SDK has a call or an argument for: these must not reach an SDK caller as HTTP
# (a browser's CSRF hint, GET /session, never reaches a key-authenticated client).
COVERED = re.compile(r"\bGET (?:/api/v1)?/(?:models|evaluations|lm-eval/tasks|tenant|keys)\b|"
                     r"POST (?:/api/v1)?/session\b|Authorization:|Retry-After|in the body's")


@pytest.mark.parametrize(("where", "hint"), HINTS, ids=[w for w, _ in HINTS])
def test_no_hint_names_a_route_the_sdk_has_a_call_for(where: str, hint: str) -> None:
    shown = for_sdk(hint)
    assert not COVERED.search(shown), (where, shown)


@pytest.mark.parametrize(("hint", "call"), [
    ("List the registered models with GET /api/v1/models.", "`Client.models()`"),
    ("Check the evaluation id; list yours with GET /api/v1/evaluations.", "`Client.list()`"),
    ("Check the model's current stage with GET /api/v1/models/{id}.",
     "`Client.model(model_id)`"),
    ("List installed tasks with GET /api/v1/lm-eval/tasks.", "`Client.lm_eval_tasks()`"),
    ("Send 'Authorization: Bearer <api key>'; create one with `evalpod keys create`.",
     "api_key="),
    ("Wait for Retry-After seconds before the next request.", "retry_after_s"),
])
def test_a_route_becomes_the_sdk_call_that_does_it(hint: str, call: str) -> None:
    assert call in for_sdk(hint)


def _model_not_found() -> errors.ApiError:
    body = {"error": {"code": "MODEL_NOT_FOUND", "message": "model 'nope' is not registered",
                      "hint": "List the registered models with GET /api/v1/models.",
                      "detail": {}}}
    return errors.ApiError.from_response(httpx.Response(400, json=body))


def test_the_reported_model_not_found_hint_names_the_sdk_call() -> None:
    error = _model_not_found()
    assert isinstance(error, errors.ModelNotFound)
    assert error.hint == "List the registered models with `Client.models()`."
    assert error.api_hint == "List the registered models with GET /api/v1/models."


def test_the_cli_still_says_its_command() -> None:
    assert describe(_model_not_found()).endswith(
        "hint: List the registered models with `evalpod models list`.")


def test_finding_hints_name_sdk_calls_and_the_cli_still_says_commands() -> None:
    from evalpod.cli.client_cmds import _finding_line
    from evalpod.sdk.models import ValidationReport

    report = ValidationReport.model_validate_json(
        '{"valid": false, "warnings": [], "errors": [{"rule": "MODEL_NOT_FOUND", '
        '"message": "model \'nope\' is not registered", '
        '"hint": "List registered models with GET /api/v1/models."}]}')
    [finding] = report.errors
    assert finding.hint == "List registered models with `Client.models()`."
    assert finding.api_hint == "List registered models with GET /api/v1/models."
    assert "(hint: List registered models with `evalpod models list`.)" in _finding_line(
        finding)
