"""docs/api.md's callback verification: its code verifies its own received callback."""

from __future__ import annotations

import json

from evalpod.callbacks import sign
from tests.callback_docs import load_verifier, received_example


def test_the_documented_callback_verifies_with_the_documented_code() -> None:
    verify = load_verifier()
    example = received_example()
    timestamp = int(example.headers["X-Evalpod-Timestamp"])
    assert verify([example.secret], example.headers, example.body, now=timestamp)
    # The doc's signature is what evalpod computes for that body.
    assert example.headers["X-Evalpod-Signature"] == sign(example.secret, timestamp,
                                                          example.body)
    assert json.loads(example.body)["status"] == "succeeded"


def test_the_documented_code_refuses_every_tampering() -> None:
    verify = load_verifier()
    example = received_example()
    timestamp = int(example.headers["X-Evalpod-Timestamp"])
    tampered = example.body.replace(b"0.5", b"0.9")
    assert not verify([example.secret], example.headers, tampered, now=timestamp)
    assert not verify(["whsec_" + "0" * 64], example.headers, example.body, now=timestamp)
    later = {**example.headers, "X-Evalpod-Timestamp": str(timestamp + 1)}
    assert not verify([example.secret], later, example.body, now=timestamp)
    assert not verify([example.secret], example.headers, example.body, now=timestamp + 301)
    assert not verify([example.secret], {}, example.body, now=timestamp)
