"""The SDK's AsyncClient against the real app (PostgreSQL, Redis): typed errors, safe retries,
pagination, registries, tenant self-service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from evalpod import AsyncClient, Client
from evalpod.keys import Role, create_key
from evalpod.sdk import ServerUnreachable, errors
from tests.stack import free_port

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"
SdkFactory = Callable[..., Awaitable[AsyncClient]]


class DropFirstSubmitAnswer(httpx.AsyncBaseTransport):
    """The first submit reaches the server, then the connection breaks before the answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.submits = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path == "/api/v1/evaluations":
            self.submits += 1
            if self.submits == 1:
                await response.aclose()
                raise httpx.ReadError("connection reset by peer", request=request)
        return response


@pytest.fixture
async def make_sdk(api_app: FastAPI) -> AsyncIterator[SdkFactory]:
    made: list[AsyncClient] = []

    async def factory(role: Role = Role.submitter, transport: httpx.AsyncBaseTransport | None
                      = None) -> AsyncClient:
        async with api_app.state.db.session() as session:
            _, key = await create_key(session, f"sdk-{uuid.uuid4().hex[:8]}", role)
        client = AsyncClient("http://test", key,
                             transport=transport or httpx.ASGITransport(app=api_app))
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.aclose()


async def test_a_submit_retried_after_a_lost_answer_creates_one_evaluation(
    make_sdk: SdkFactory, api_app: FastAPI
) -> None:
    transport = DropFirstSubmitAnswer(httpx.ASGITransport(app=api_app))
    sdk = await make_sdk(transport=transport)
    accepted = await sdk.submit(GOOD, model="tiny-gpt2", tags={"run": "retry"})
    assert transport.submits == 2  # the SDK sent it again, with the same idempotency key
    listed = [e async for e in sdk.list(tag="run:retry")]
    assert [e.evaluation_id for e in listed] == [accepted.evaluation_id]
    # Without a caller's key each submit gets a fresh one: two submits, two evaluations.
    second = await sdk.submit(GOOD, model="tiny-gpt2", tags={"run": "retry"})
    assert second.evaluation_id != accepted.evaluation_id


async def test_envelope_errors_are_typed_and_carry_code_message_hint_detail(
    make_sdk: SdkFactory,
) -> None:
    sdk = await make_sdk()
    with pytest.raises(errors.InvalidScript) as syntax:
        await sdk.submit("def evaluate_model(model):\n    return {\n", model="tiny-gpt2")
    assert syntax.value.status_code == 400 and syntax.value.detail["line"] == 2
    assert isinstance(syntax.value.detail["column"], int) and syntax.value.hint
    with pytest.raises(errors.InvalidScript) as missing:
        await sdk.submit("x = 1\n", model="tiny-gpt2")
    assert "evaluate_model" in missing.value.message
    assert "forbidden" not in missing.value.message
    assert missing.value.detail["findings"][0]["rule"] == "EP010"
    with pytest.raises(errors.ForbiddenPattern) as forbidden:
        await sdk.submit("import subprocess\n" + GOOD, model="tiny-gpt2")
    assert forbidden.value.detail["findings"]
    with pytest.raises(errors.InvalidConfig) as gpus:
        await sdk.submit(GOOD, model="tiny-gpt2", gpus=5)
    assert gpus.value.detail["errors"] == [
        {"field": "config.gpus", "message": "this host has 2 GPUs; asked for 5"}]
    with pytest.raises(errors.ModelNotFound):
        await sdk.submit(GOOD, model="no-such-model")
    with pytest.raises(errors.JobNotFound) as unknown:
        await sdk.get("ev_" + "0" * 32)
    assert unknown.value.code == "JOB_NOT_FOUND" and unknown.value.hint


async def test_a_wrong_key_is_unauthorized(api_app: FastAPI) -> None:
    async with AsyncClient("http://test", "ep_wrong",
                           transport=httpx.ASGITransport(app=api_app)) as sdk:
        with pytest.raises(errors.Unauthorized) as denied:
            await sdk.tenant()
    assert denied.value.status_code == 401 and "keys create" in denied.value.hint


async def test_list_follows_cursors_and_filters(make_sdk: SdkFactory) -> None:
    sdk = await make_sdk()
    ids = [(await sdk.submit(GOOD, model="tiny-gpt2", tags={"batch": "b1"})).evaluation_id
           for _ in range(5)]
    await sdk.submit(GOOD, model="tiny-gpt2", tags={"batch": "b2"})
    listed = [e.evaluation_id async for e in sdk.list(tag="batch:b1", page_size=2)]
    assert listed == list(reversed(ids))  # newest first, over three pages
    assert [e async for e in sdk.list(status="succeeded")] == []


async def test_validate_cancel_registries_and_tenant(make_sdk: SdkFactory) -> None:
    sdk = await make_sdk()
    good = await sdk.validate(GOOD, model="tiny-gpt2")
    assert good.valid and good.errors == []
    bad = await sdk.validate("import socket\n" + GOOD, model="tiny-gpt2", deep=True)
    assert not bad.valid and bad.errors[0].line == 1
    accepted = await sdk.submit(GOOD, model="tiny-gpt2")
    assert (await sdk.cancel(accepted.evaluation_id)).status == "cancelled"
    assert (await sdk.cancel(accepted.evaluation_id)).status == "cancelled"  # idempotent
    record = await sdk.get(accepted.evaluation_id)
    assert record.status == "cancelled" and record.terminal
    assert [t.to_status for t in record.transitions][-1] == "cancelled"
    assert "tiny-gpt2" in [m.id async for m in sdk.models()]
    assert (await sdk.model("tiny-gpt2")).id == "tiny-gpt2"
    assert any(t.name for t in await sdk.lm_eval_tasks())
    tenant = await sdk.tenant()
    assert tenant.usage["max_live_evaluations"].used == 0
    keys = await sdk.keys()
    assert [k.key_id for k in keys] == [tenant.key_id]
    with pytest.raises(errors.Forbidden):
        await sdk.rotate_callback_secret()
    admin = await make_sdk(Role.admin)
    rotated = await admin.rotate_callback_secret(tenant.tenant_id, grace_s=60)
    assert rotated.callback_secret.startswith("whsec_") and rotated.previous_valid_until


async def test_lm_eval_submit_needs_no_script(make_sdk: SdkFactory) -> None:
    sdk = await make_sdk()
    task = (await sdk.lm_eval_tasks())[0].name
    accepted = await sdk.submit(model="tiny-gpt2", tasks=[task], num_fewshot=0, limit=5)
    record = await sdk.get(accepted.evaluation_id)
    assert (record.kind, record.tasks) == ("lm_eval", [task])
    unknown = await sdk.validate(model="tiny-gpt2", tasks=["no-such-task-anywhere"], deep=True)
    assert not unknown.valid and "no-such-task-anywhere" in str(unknown.errors)


def test_a_server_that_is_not_there_is_its_own_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Client(url, "ep_any", max_retries=1) as sdk, pytest.raises(ServerUnreachable) as down:
        sdk.status("ev_1")
    assert down.value.url == url and "refused" in down.value.reason
