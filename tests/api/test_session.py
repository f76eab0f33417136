"""Browser sessions (#14.1): an API key traded for an HttpOnly, SameSite=Strict cookie that
authenticates every route (the SSE log stream included), CSRF on state-changing requests,
sign-out and key revocation ending the session, the key never echoed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from httpx_sse import aconnect_sse

from api.session import COOKIE, CSRF_HEADER
from evalpod.keys import Role, create_key, revoke_key
from evalpod.logs.stream import close_stream
from monitor.logs import LogWriter

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"


@pytest.fixture
async def browser(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client with no Authorization header, as a browser is."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app),
                                 base_url="http://test/api/v1") as client:
        yield client


async def _key(api_app: FastAPI) -> tuple[str, str]:
    async with api_app.state.db.session() as session:
        row, key = await create_key(session, f"t-{uuid.uuid4().hex[:8]}", Role.submitter)
    return row.id, key


async def _sign_in(browser: httpx.AsyncClient, key: str) -> str:
    response = await browser.post("/session", json={"api_key": key})
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    return csrf


async def test_sign_in_sets_a_strict_httponly_cookie_that_is_not_the_key(
    api_app: FastAPI, browser: httpx.AsyncClient,
) -> None:
    key_id, key = await _key(api_app)
    response = await browser.post("/session", json={"api_key": key})
    assert response.status_code == 200
    body = response.json()
    assert body["key_id"] == key_id and body["role"] == "submitter" and body["csrf_token"]
    assert key not in response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and key not in cookie
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    assert response.headers["cache-control"] == "no-store"
    # The cookie alone now authenticates reads, and GET /session hands back the CSRF token.
    assert (await browser.get("/evaluations")).status_code == 200
    again = await browser.get("/session")
    assert again.status_code == 200 and again.json()["csrf_token"] == body["csrf_token"]


async def test_a_wrong_key_or_a_foreign_origin_gets_no_session(
    api_app: FastAPI, browser: httpx.AsyncClient,
) -> None:
    wrong = await browser.post("/session", json={"api_key": "ep_not-a-key"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "UNAUTHORIZED"
    assert "set-cookie" not in wrong.headers
    _, key = await _key(api_app)
    forged = await browser.post("/session", json={"api_key": key},
                                headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    assert (await browser.get("/session")).status_code == 401
    same = await browser.post("/session", json={"api_key": key}, headers={"Origin": "http://test"})
    assert same.status_code == 200


async def test_state_changes_with_the_cookie_need_the_csrf_token(
    api_app: FastAPI, browser: httpx.AsyncClient,
) -> None:
    _, key = await _key(api_app)
    csrf = await _sign_in(browser, key)
    body = {"model_id": "tiny-gpt2", "script": GOOD}
    for headers in ({}, {CSRF_HEADER: "x" + csrf}):
        refused = await browser.post("/evaluations", json=body, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "FORBIDDEN"
    accepted = await browser.post("/evaluations", json=body, headers={CSRF_HEADER: csrf})
    assert accepted.status_code == 202, accepted.text
    evaluation_id = accepted.json()["evaluation_id"]
    assert (await browser.post(f"/evaluations/{evaluation_id}/cancel")).status_code == 403
    cancelled = await browser.post(f"/evaluations/{evaluation_id}/cancel",
                                   headers={CSRF_HEADER: csrf})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_the_log_stream_accepts_the_cookie(
    api_app: FastAPI, browser: httpx.AsyncClient,
) -> None:
    _, key = await _key(api_app)
    csrf = await _sign_in(browser, key)
    submitted = await browser.post("/evaluations", json={"model_id": "tiny-gpt2", "script": GOOD},
                                   headers={CSRF_HEADER: csrf})
    evaluation_id = submitted.json()["evaluation_id"]
    writer = LogWriter(api_app.state.redis, evaluation_id, maxlen=100)
    for i in range(3):
        await writer.write(f"line {i}")
    await writer.aclose()
    await close_stream(api_app.state.redis, evaluation_id, "succeeded", ttl_s=60)
    async with aconnect_sse(browser, "GET", f"/evaluations/{evaluation_id}/logs") as source:
        assert source.response.status_code == 200
        events = [event async for event in source.aiter_sse()]
    assert [e.event for e in events] == ["log"] * 3 + ["end"]
    # Resume as EventSource does after a drop: only what follows the last id seen.
    async with aconnect_sse(browser, "GET", f"/evaluations/{evaluation_id}/logs",
                            headers={"Last-Event-ID": events[0].id}) as source:
        rest = [event async for event in source.aiter_sse()]
    assert [e.data for e in rest] == [e.data for e in events[1:]]


async def test_sign_out_and_revocation_end_the_session(
    api_app: FastAPI, browser: httpx.AsyncClient,
) -> None:
    key_id, key = await _key(api_app)
    csrf = await _sign_in(browser, key)
    cookie = browser.cookies[COOKIE]
    # Signing out is a state change too: a foreign page cannot sign the user out.
    assert (await browser.delete("/session")).status_code == 403
    out = await browser.delete("/session", headers={CSRF_HEADER: csrf})
    assert out.status_code == 204 and COOKIE not in browser.cookies
    # The old cookie, replayed, is dead on the server and not only in the browser.
    browser.cookies.set(COOKIE, cookie)
    stale = await browser.get("/evaluations")
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "UNAUTHORIZED"
    browser.cookies.clear()

    await _sign_in(browser, key)
    assert (await browser.get("/evaluations")).status_code == 200
    async with api_app.state.db.session() as session:
        assert await revoke_key(session, key_id)
    api_app.state.principal_cache.clear()
    assert (await browser.get("/evaluations")).status_code == 401
    assert (await browser.get("/session")).status_code == 401


async def test_a_bearer_key_needs_no_csrf_token_and_wins_over_a_cookie(
    api_app: FastAPI, browser: httpx.AsyncClient,
) -> None:
    _, key = await _key(api_app)
    _, other = await _key(api_app)
    await _sign_in(browser, key)
    response = await browser.post("/evaluations", json={"model_id": "tiny-gpt2", "script": GOOD},
                                  headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 202
    listed = await browser.get("/evaluations", headers={"Authorization": f"Bearer {other}"})
    assert [e["evaluation_id"] for e in listed.json()["items"]] == [
        response.json()["evaluation_id"]]
    assert (await browser.get("/evaluations")).json()["items"] == []


async def test_the_dashboard_is_served_at_the_root_with_a_strict_policy(
    api_app: FastAPI,
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app),
                                 base_url="http://test") as anon:
        page = await anon.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "/static/app.js" in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        script = await anon.get("/static/app.js")
        assert script.status_code == 200 and "EventSource" in script.text
        assert "innerHTML" not in script.text
