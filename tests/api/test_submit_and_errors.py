"""Submit checks, idempotency, and the error envelope for every kind of failure."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from tests.api.conftest import ClientFactory

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"


def body(**extra: Any) -> dict[str, Any]:
    return {"model_id": "tiny-gpt2", "script": GOOD, **extra}


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and error["hint"] and error["timestamp"].endswith("Z")
    assert "Traceback" not in response.text and "/work/" not in response.text
    return error


async def test_submit_returns_202_with_id_and_position(client: httpx.AsyncClient) -> None:
    response = await client.post("/evaluations", json=body())
    assert response.status_code == 202
    data = response.json()
    assert data["evaluation_id"].startswith("ev_")
    assert data["status"] == "pending_validation"
    assert data["queue_position"] >= 1
    assert response.headers["X-Request-ID"]


async def test_syntax_error_is_invalid_script_with_position(client: httpx.AsyncClient) -> None:
    error = assert_envelope(await client.post("/evaluations", json=body(script="def f(:\n")),
                            400, "INVALID_SCRIPT")
    assert error["detail"]["line"] == 1


async def test_forbidden_pattern_is_rejected_at_submit(client: httpx.AsyncClient) -> None:
    script = "import os\n\ndef evaluate_model(model):\n    return {'x': os.getpid()}\n"
    error = assert_envelope(await client.post("/evaluations", json=body(script=script)),
                            400, "FORBIDDEN_PATTERN")
    assert error["detail"]["findings"][0]["line"] == 1


async def test_unknown_model_is_model_not_found(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.post("/evaluations", json=body(model_id="nope")), 400,
                    "MODEL_NOT_FOUND")


async def test_script_over_the_cap_is_413(client: httpx.AsyncClient) -> None:
    big = GOOD + "# " + "x" * (256 * 1024) + "\n"
    error = assert_envelope(await client.post("/evaluations", json=body(script=big)), 413,
                            "PAYLOAD_TOO_LARGE")
    assert error["detail"]["limit_bytes"] == 256 * 1024


async def test_schema_errors_have_field_level_detail(client: httpx.AsyncClient) -> None:
    response = await client.post("/evaluations", json={"model_id": "tiny-gpt2",
                                                       "config": {"timeout_s": -1}, "bogus": 1})
    error = assert_envelope(response, 422, "INVALID_CONFIG")
    fields = {e["field"] for e in error["detail"]["errors"]}
    assert "config.timeout_s" in fields and "bogus" in fields


async def test_framework_errors_use_the_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/nowhere"), 404, "NOT_FOUND")
    assert_envelope(await client.delete("/evaluations"), 405, "METHOD_NOT_ALLOWED")
    assert_envelope(await client.post("/evaluations", content=b"{not json",
                                      headers={"content-type": "application/json"}),
                    422, "INVALID_CONFIG")


async def test_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/evaluations/ev_missing"), 404, "JOB_NOT_FOUND")
    assert_envelope(await client.post("/evaluations/ev_missing/cancel"), 404, "JOB_NOT_FOUND")


async def test_auth_is_required_and_revocation_works(
    anonymous: httpx.AsyncClient, make_client: ClientFactory
) -> None:
    assert_envelope(await anonymous.get("/api/v1/evaluations"), 401, "UNAUTHORIZED")
    bad = await anonymous.get("/api/v1/evaluations", headers={"Authorization": "Bearer nope"})
    assert_envelope(bad, 401, "UNAUTHORIZED")
    assert (await anonymous.get("/api/v1/health")).status_code == 200
    assert (await anonymous.get("/metrics")).status_code == 200
    assert (await anonymous.get("/api/openapi.json")).status_code == 200
    assert (await anonymous.get("/api/docs")).status_code == 200
    from evalpod.keys import Role

    admin = await make_client(role=Role.admin)
    victim = await make_client()
    assert (await victim.get("/evaluations")).status_code == 200
    revoked = await admin.post(f"/admin/keys/{victim.key_id}/revoke")  # type: ignore[attr-defined]
    assert revoked.status_code == 200
    assert_envelope(await victim.get("/evaluations"), 401, "UNAUTHORIZED")
    assert_envelope(await victim.post(f"/admin/keys/{victim.key_id}/revoke"),  # type: ignore[attr-defined]
                    401, "UNAUTHORIZED")


async def test_admin_routes_need_the_admin_role(client: httpx.AsyncClient) -> None:
    tenant_id = client.tenant_id  # type: ignore[attr-defined]
    assert_envelope(await client.put(f"/admin/tenants/{tenant_id}/limits", json={}), 403,
                    "FORBIDDEN")


async def test_idempotent_resubmission_returns_the_same_evaluation(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/evaluations", json=body(idempotency_key="k1"))
    again = await client.post("/evaluations", json=body(idempotency_key="k1"))
    assert first.status_code == 202 and again.status_code == 200
    assert first.json()["evaluation_id"] == again.json()["evaluation_id"]
    conflict = await client.post("/evaluations", json=body(idempotency_key="k1", priority=1))
    error = assert_envelope(conflict, 409, "IDEMPOTENCY_CONFLICT")
    assert error["detail"]["evaluation_id"] == first.json()["evaluation_id"]


async def test_fifty_parallel_identical_submissions_create_one(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    from sqlalchemy import func, select

    from evalpod.orm import Evaluation

    responses = await asyncio.gather(*(
        client.post("/evaluations", json=body(idempotency_key="race")) for _ in range(50)))
    ids = {r.json()["evaluation_id"] for r in responses}
    assert len(ids) == 1, [r.text for r in responses if r.status_code >= 300][:3]
    assert sorted({r.status_code for r in responses}) in ([200, 202], [202])
    async with api_app.state.db.session() as session:
        count = await session.scalar(select(func.count()).select_from(Evaluation).where(
            Evaluation.tenant_id == client.tenant_id,  # type: ignore[attr-defined]
            Evaluation.idempotency_key == "race"))
    assert count == 1


async def test_dry_run_validate_reports_and_stores_nothing(
    client: httpx.AsyncClient, api_app: FastAPI
) -> None:
    listed = (await client.get("/evaluations")).json()["items"]
    bad = await client.post("/evaluations/validate", json=body(script="x = (\n"))
    assert bad.status_code == 200
    report = bad.json()
    assert report["valid"] is False and report["errors"][0]["line"] == 1
    assert report["errors"][0]["column"] is not None
    forbidden = (await client.post("/evaluations/validate", json=body(
        script="import subprocess\ndef evaluate_model(model):\n    return {}\n"))).json()
    assert forbidden["valid"] is False and forbidden["errors"][0]["line"] == 1
    good = (await client.post("/evaluations/validate", json=body())).json()
    assert good["valid"] is True and good["errors"] == [] and good["static"] is None
    assert (await client.get("/evaluations")).json()["items"] == listed


async def test_deep_dry_run_includes_the_static_analysis(client: httpx.AsyncClient) -> None:
    # Constant expressions are folded ('gen' + 'erate' is fine); a runtime name is not.
    hidden = ("def evaluate_model(model):\n"
              "    f = getattr(model, model.tokenizer.decode([1]))\n"
              "    return {'n': len(f(['x']))}\n")
    quick = (await client.post("/evaluations/validate", json=body(script=hidden))).json()
    deep = (await client.post("/evaluations/validate", params={"deep": "true"},
                              json=body(script=hidden))).json()
    assert quick["static"] is None
    assert deep["static"]["duration_ms"] > 0 and "bandit" in deep["static"]["analysers"]
    assert deep["valid"] is False
    assert any(f["rule"].startswith("EP") and f["line"] == 2 for f in deep["errors"])


async def test_nul_characters_are_refused_not_500(client: httpx.AsyncClient) -> None:
    listed = await client.get("/evaluations", params={"model_id": "a\x00b"})
    assert_envelope(listed, 422, "INVALID_CONFIG")
    for extra in ({"idempotency_key": "k\x00"}, {"tags": {"t": "v\x00"}},
                  {"callback_url": "https://x\x00.example/"}):
        assert_envelope(await client.post("/evaluations", json=body(**extra)), 422,
                        "INVALID_CONFIG")


async def test_values_the_database_refuses_are_422(make_client: ClientFactory) -> None:
    from evalpod.keys import Role

    admin = await make_client(role=Role.admin)
    response = await admin.post("/models/tiny-gpt2/promote", json={
        "target_stage": "archived", "reason": "bad\x00reason"})
    assert_envelope(response, 422, "INVALID_CONFIG")
