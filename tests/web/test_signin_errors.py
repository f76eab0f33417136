"""A refused key at the dashboard's sign-in form is said for a person at a browser (what to
paste, where it comes from), not with the API's hint about an Authorization header, which
API clients still get from the same POST /session."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from evalpod.db import get_database
from evalpod.keys import Role, create_key, revoke_key
from tests.stack import Stack

expect.set_options(timeout=20_000)


async def revoked_key(stack: Stack) -> str:
    async with get_database(stack.settings.database_dsn()).session() as session:
        row, key = await create_key(session, "acme", Role.submitter)
        await session.commit()
    async with get_database(stack.settings.database_dsn()).session() as session:
        assert await revoke_key(session, row.id)
        await session.commit()
    return key


async def test_a_wrong_or_revoked_key_says_what_to_paste(chromium: Any, web_stack: Stack
                                                         ) -> None:
    context = await chromium.new_context(base_url=web_stack.url)
    page = await context.new_page()
    await page.goto("/#/signin")
    for key in ("ep_mistyped", await revoked_key(web_stack)):
        await page.get_by_label("API key").fill(key)
        await page.get_by_role("button", name="Sign in").click()
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("That API key is not valid (revoked or mistyped).")
        await expect(alert).to_contain_text("`evalpod keys create`")
        await expect(alert).to_contain_text("`evalpod up`")
        text = await alert.inner_text()
        assert "Authorization" not in text and "Bearer" not in text, text
    # The right key still signs in from the same form, and the message goes.
    await page.get_by_label("API key").fill(web_stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()
    await context.close()


async def test_api_clients_keep_the_envelope(web_stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=web_stack.url + "/api/v1") as http:
        refused = await http.post("/session", json={"api_key": "ep_mistyped"})
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["code"] == "UNAUTHORIZED"
    assert error["message"] == "invalid or revoked API key"
    assert "Authorization: Bearer" in error["hint"]
