"""Schemathesis hooks for the OpenAPI fuzz (loaded through SCHEMATHESIS_HOOKS).

`positive_data_served` is schemathesis's own `positive_data_acceptance`, except for the
refusals the CONTRACT fixes that depend on state or content no schema can state: an
unknown model, dataset or benchmark, a script that does not parse or uses a forbidden
construct, a callback host that does not resolve to public addresses. Every other check,
`negative_data_rejection` included, is schemathesis's own, with no exception.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

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
