"""`__init__` only from a class (attack round 3: `raw.__init__(path, mode, True, opener)`
re-ran a library FileIO's initialiser and handed it the harness's own descriptors)."""

from __future__ import annotations

import pytest

from validator.policy.engine import run_policy

ENTRY = "\ndef evaluate_model(model):\n    return {}\n"

ALLOWED = [
    "class A:\n    def __init__(self):\n        super().__init__()\n",
    "class B:\n    pass\nclass A(B):\n    def __init__(self):\n        B.__init__(self)\n",
    "import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n"
    "        torch.nn.Module.__init__(self)\n",
    "import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n"
    "        super(M, self).__init__()\n",
]

REFUSED = [
    "def f(x):\n    x.__init__(1)\n",
    "import logging\ndef f():\n"
    "    logging.StreamHandler().stream.buffer.raw.__init__('/tmp/x', 'wb')\n",
    "def f(x):\n    init = x.__init__\n    init(1)\n",
    "def f(x):\n    getattr(x, '__init__')(1)\n",
    "import json\ndef f():\n    json.__init__('x')\n",
    "def super():\n    return 1\nclass A:\n    def __init__(self):\n        super().__init__()\n",
    "class A:\n    def reset(self):\n        self.__init__()\n",
]


def _init_findings(source: str) -> list[str]:
    return [f.message for f in run_policy(source + ENTRY)
            if f.rule == "EP301" and "__init__" in f.message]


@pytest.mark.parametrize("source", ALLOWED)
def test_init_from_a_class_is_allowed(source: str) -> None:
    assert _init_findings(source) == []


@pytest.mark.parametrize("source", REFUSED)
def test_init_from_an_object_is_refused(source: str) -> None:
    assert _init_findings(source), source
