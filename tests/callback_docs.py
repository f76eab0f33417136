"""The callback verification code and the received callback, read from docs/api.md."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
Verifier = Callable[..., bool]


def _callbacks_section() -> str:
    text = DOC.read_text()
    return text[text.index("## Callbacks"):text.index("## Your tenant")]


def load_verifier() -> Verifier:
    """`verify_evalpod_callback` exactly as the doc shows it."""
    block = next(b for b in re.findall(r"```python\n(.*?)```", _callbacks_section(), re.S)
                 if "def verify_evalpod_callback" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, str(DOC), "exec"), namespace)  # the doc's own code, nothing else
    verifier = namespace["verify_evalpod_callback"]
    assert callable(verifier)
    return verifier


@dataclass(frozen=True)
class Received:
    headers: Mapping[str, str]
    body: bytes
    secret: str


def received_example() -> Received:
    """The doc's received callback: its headers, its body bytes and the secret it names."""
    section = _callbacks_section()
    request = re.search(r"```http\n(.*?)```", section, re.S)
    assert request is not None
    head, _, body = request.group(1).partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    secret = re.search(r"whsec_[0-9a-f]{64}", section)
    assert secret is not None
    return Received(headers, body.rstrip("\n").encode(), secret.group(0))
