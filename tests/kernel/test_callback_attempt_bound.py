"""A callback attempt ends within its delivery timeout, the host lookup included.

The lookup had no bound of its own: a resolver that never answered held the attempt until
arq's job timeout cancelled it, so the attempt was neither recorded nor retried (the
callback was lost without a trace)."""

from __future__ import annotations

import asyncio
import time

from evalpod.callbacks import DELIVERY_TIMEOUT_S, create_worker, deliver


async def _never_answers(host: str, port: int) -> list[str]:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_a_lookup_that_never_answers_is_a_failed_attempt_within_the_timeout() -> None:
    started = time.monotonic()
    attempt = deliver("https://hooks.example.test/hook", b"{}", "whsec_x",
                      allow_private=False, resolve=_never_answers, timeout_s=0.3)
    # The outer bound only turns a hang into a failure here.
    code, error = await asyncio.wait_for(attempt, timeout=30)
    assert time.monotonic() - started < 5
    assert code is None
    assert error is not None and "0.3" in error


def test_an_attempt_ends_before_arq_would_cancel_its_job() -> None:
    # arq's job timeout cancels what is still running: the attempt must have ended (and
    # been recorded) by then.
    job_timeout_s = create_worker().functions["deliver_callback"].timeout_s
    assert job_timeout_s is not None and job_timeout_s > DELIVERY_TIMEOUT_S
