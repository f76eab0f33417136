"""Schemathesis hooks for the OpenAPI fuzz (loaded through SCHEMATHESIS_HOOKS).

`positive_data_served` is schemathesis's own `positive_data_acceptance`, except for the
refusals the CONTRACT fixes that depend on state or content no schema can state: an
unknown model, dataset or benchmark, a script that does not parse or uses a forbidden
construct, a callback host that does not resolve to public addresses.

`negative_data_refused` is its `negative_data_rejection`, reading an array-of-strings query
parameter as the server does: a generated `true` for it goes on the wire as `?name=true`,
which is the valid array `["true"]` (schemathesis allows for this with scalar parameters,
not with arrays). Every other check is schemathesis's own.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

import schemathesis
from jsonschema import Draft202012Validator
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

STATEFUL_CODES = {"MODEL_NOT_FOUND", "DATASET_NOT_FOUND", "BENCHMARK_NOT_FOUND",
                  "INVALID_SCRIPT", "FORBIDDEN_PATTERN"}


def _stateful_refusal(response: Any) -> bool:
    if response.status_code not in (400, 422):
        return False
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    fields = {e.get("field") for e in (error.get("detail") or {}).get("errors", [])}
    return error.get("code") in STATEFUL_CODES or (
        error.get("code") == "INVALID_CONFIG" and fields == {"callback_url"})


@schemathesis.check
def positive_data_served(ctx: Any, response: Any, case: Any) -> bool | None:
    if _stateful_refusal(response):
        return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result


def _read(texts: list[str], schema: dict[str, Any]) -> Any:
    """A query parameter's sent values as the server reads them (OpenAPI form style)."""
    options = schema.get("anyOf", [schema])
    types = {option.get("type") for option in options} | ({"string"} if "$ref" in str(options)
                                                           else set())
    if "array" in types:
        return texts
    text = texts[-1]
    if "integer" in types and text.lstrip("-").isdigit():
        return int(text)
    if "boolean" in types and text in ("true", "false"):
        return text == "true"
    return text


def _valid_as_read(response: Any, case: Any) -> bool:
    """Only the query is negative, and the query the server read is valid: an array
    parameter is the list of its values, so a generated `true` sent as `?name=true` is the
    array `["true"]`."""
    meta = case.meta
    if meta is None or any(meta.is_negative_at(location) for location in (
            ParameterLocation.PATH, ParameterLocation.HEADER, ParameterLocation.COOKIE,
            ParameterLocation.BODY)):
        return False
    sent = parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)
    parameters = {p["name"]: p for p in case.operation.definition.raw.get("parameters", [])
                  if p.get("in") == "query"}
    if not set(sent) <= set(parameters) or any(
            p.get("required") and name not in sent for name, p in parameters.items()):
        return False
    components = case.operation.schema.raw_schema.get("components", {})
    for name, texts in sent.items():
        schema = parameters[name].get("schema", {})
        if not Draft202012Validator({**schema, "components": components}).is_valid(
                _read(texts, schema)):
            return False
    return True


@schemathesis.check
def negative_data_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    if _valid_as_read(response, case):
        return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Ids the fuzzer learnt from responses, redirected: admin changes go to another
    tenant and key (tight limits on the fuzzer's own tenant would turn the rest of the run
    into 429s, revoking its own key into 401s), log streams to a finished evaluation."""
    parameters = case.path_parameters or {}
    if case.operation.path.endswith("/logs") and str(
            parameters.get("evaluation_id", "")).startswith("ev_"):
        # A live evaluation's stream runs until it ends, and no worker runs here: each
        # would hold the run for the whole request timeout. A finished one ends at once.
        parameters["evaluation_id"] = os.environ["EVALPOD_FUZZ_FINISHED_EVALUATION"]
    if "tenant_id" in parameters:
        parameters["tenant_id"] = os.environ["EVALPOD_FUZZ_VICTIM_TENANT"]
    if "key_id" in parameters:
        parameters["key_id"] = os.environ["EVALPOD_FUZZ_VICTIM_KEY"]
