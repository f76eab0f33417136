"""Each policy rule, through aliases, NFKC lookalikes and string building."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.policy.engine import run_policy
from validator.policy.rules import RULES

ENTRY = "\n\ndef evaluate_model(model):\n    return {}\n"


def _rules(source: str) -> set[str]:
    return {f.rule for f in run_policy(source + ENTRY)}


CAUGHT = [
    # imports: allowlist, denylist, star, denied APIs, smuggled modules, private members
    ("import scipy", "EP101"),
    ("from . import helpers", "EP101"),
    ("import os as o\no.system('id')", "EP102"),
    ("from os import system as s\ns('id')", "EP102"),
    ("import importlib.util", "EP102"),
    ("from math import *", "EP103"),
    ("import torch\ntorch.hub.load('a', 'b')", "EP104"),
    ("import torch as t\nt.utils.cpp_extension.load('x', [])", "EP104"),
    ("import torch\ntorch.ops.load_library('x.so')", "EP104"),
    ("import torch\nt = torch\nt.hub.list('a')", "EP104"),
    ("from torch import hub", "EP104"),
    ("import torch.distributed", "EP104"),
    ("import random\nrandom._os.system('id')", "EP104"),
    ("import collections\ncollections._sys.modules", "EP104"),
    ("import torch\ntorch.os.system('id')", "EP104"),
    ("import json\njson.codecs.open('/etc/passwd')", "EP104"),
    ("import warnings\nwarnings.linecache.getlines('/etc/passwd')", "EP104"),
    ("import torch\ngetattr(torch, 'hub')", "EP104"),
    ("import numpy as np\nnp.zeros(1).ctypes._ctypes.CDLL(None)", "EP104"),
    ("getattr(obj, '_os')", "EP202"),
    ("import torch\nf = torch.compile(model.model)", "EP104"),
    ("import torch\ntorch.UntypedStorage.from_file('x', False, 1)", "EP401"),
    ("import torch\ntorch._C._get_tracing_state()", "EP105"),
    ("from torch import _C", "EP105"),
    ("import torch\nclass A:\n    def __init__(self):\n        self.t = torch", "EP106"),
    ("import torch\ndef f(m):\n    return m.hub\nf(torch)", "EP106"),
    ("import numpy as np\nmods = [np]", "EP106"),
    # dynamic code, reflection, namespaces, frames, interactive builtins, type()
    ("eval('1')", "EP201"),
    ("x = eval\nx('1')", "EP201"),
    ("runner = lambda s: exec(s)", "EP201"),
    ("@exec\ndef f(): pass", "EP201"),
    ("class K:\n    go = compile", "EP201"),
    ("(e := eval)", "EP201"),
    ("__import__('os')", "EP201"),
    ("def f(x: \"exec('import os')\"): pass", "EP201"),
    ("def f() -> '__import__(\"os\")': pass", "EP201"),
    ("import typing\ntyping.get_type_hints(f)", "EP201"),
    ("from typing import ForwardRef\nForwardRef('x')", "EP201"),
    ("f.__annotations__ = {'x': 'y'}", "EP301"),
    ("tmpl = build()\ntmpl.format(model)", "EP202"),
    ("('{0.' + name + '}').format(f)", "EP202"),
    ("import string\nstring.Formatter().vformat(s, [f], {})", "EP202"),
    ("getattr(model, name)", "EP202"),
    ("getattr(model, '__cl' + 'ass__')", "EP202"),
    ("getattr(model, *args)", "EP202"),
    ("setattr(model, key, 1)", "EP202"),
    ("g = getattr", "EP202"),
    ("import operator\noperator.attrgetter('__globals__')", "EP202"),
    ("import operator\noperator.attrgetter(name)", "EP202"),
    ("import operator as op\nop.methodcaller(name)", "EP202"),
    ("import functools\nfunctools.partial(getattr, model)", "EP202"),
    ("globals()", "EP203"),
    ("locals()['x']", "EP203"),
    ("vars(model)", "EP203"),
    ("frame.f_back.f_globals", "EP204"),
    ("e.__traceback__.tb_frame", "EP204"),
    ("g.gi_frame", "EP204"),
    ("c.cr_frame", "EP204"),
    ("breakpoint()", "EP205"),
    ("help(model)", "EP205"),
    ("input()", "EP205"),
    ("license()", "EP205"),
    ("T = type('T', (), {})", "EP206"),
    # dunders as attributes, names and strings
    ("().__class__.__mro__[-1].__subclasses__()", "EP301"),
    ("b = __builtins__", "EP301"),
    ("l = __loader__", "EP301"),
    ("f.__globals__", "EP301"),
    ("model.__dict__", "EP301"),
    ("f'{model.__class__}'", "EP301"),
    ("'{0.__globals__}'.format(f)", "EP302"),
    ("('{0.__glo' 'bals__}').format(f)", "EP302"),
    ("'{0.f_globals}'.format(frame)", "EP302"),
    ("name = ''.join(['__', 'subclasses', '__'])", "EP302"),
    ("name = chr(95) * 2 + 'code' + chr(95) * 2", "EP302"),
    # file I/O, deserialisation, downloads, remote code
    ("open('/etc/passwd')", "EP401"),
    ("reader = open\nreader('x')", "EP401"),
    ("import numpy as np\nnp.save('x.npy', [1])", "EP401"),
    ("import torch\ntorch.save({}, 'x.pt')", "EP401"),
    ("p.read_text()", "EP401"),
    ("model.model.save_pretrained('out')", "EP401"),
    ("import pickle\npickle.loads(b'')", "EP501"),
    ("import torch\ntorch.load('x.pt')", "EP501"),
    ("import torch\ntorch.load('x.pt', weights_only=False)", "EP501"),
    ("from torch import load as L\nL('x.pt')", "EP501"),
    ("import torch\nloader = torch.load", "EP501"),
    ("import numpy\nnumpy.load('x.npy', allow_pickle=True)", "EP501"),
    ("import transformers\ntransformers.AutoModel.from_pretrained('gpt2')", "EP502"),
    ("from transformers import pipeline\npipeline('text-generation')", "EP502"),
    ("model.model.push_to_hub('me/model')", "EP502"),
    ("f(trust_remote_code=True)", "EP503"),
    ("f(trust_remote_code=flag)", "EP503"),
    ("f(**{'trust_remote_code': True})", "EP503"),
    # encoded payloads
    ("import base64\nbase64.b64decode(s)", "EP601"),
    ("import codecs\ncodecs.decode(s, 'rot13')", "EP601"),
    ("bytes.fromhex(s)", "EP601"),
    ("s = 'aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='", "EP602"),
    ("s = '696d706f7274206f733b206f732e73797374656d282769642729'", "EP602"),
    ("s = 'vzcbeg bf; bf.flfgrz(\"vq\")'", "EP602"),
    ("s = '" + "QUJD" * 80 + "'", "EP603"),
    # NFKC: fullwidth letters are the same identifiers to Python
    ("ｅｖａｌ('1')", "EP201"),  # noqa: RUF001
    ("x = model.__ｃｌａｓｓ__", "EP301"),  # noqa: RUF001
    ("import ｏｓ", "EP102"),  # noqa: RUF001
]


@pytest.mark.parametrize(
    ("snippet", "rule"), CAUGHT, ids=[f"{rule}-{i}" for i, (_, rule) in enumerate(CAUGHT)]
)
def test_rule_catches(snippet: str, rule: str) -> None:
    assert rule in _rules(snippet)


ALLOWED = [
    "import torch\nimport torch.nn.functional as F\nx = F.softmax(torch.zeros(2), dim=0)",
    "import numpy as np\nnp.mean([1, 2])",
    "from transformers import AutoTokenizer",
    "import numpy as np\nnp.asarray([1])",
    "getattr(model, 'device', 'cpu')",
    "hasattr(model, 'generate')",
    "import operator\noperator.itemgetter(1)",
    "import operator\noperator.attrgetter('score')",
    "input_ids = [1]\nprint(input_ids)",
    "input = 'text'\nprint(input)",
    "def compile(x):\n    return x\ncompile(1)",
    "class A:\n    def __init__(self):\n        super().__init__()\n"
    "    def __repr__(self):\n        return type(self).__name__",
    "if __name__ == '__main__':\n    pass",
    "t = type(model)",
    "s = 'The quick brown fox jumps over the lazy dog again and again'",
    "h = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
    "from __future__ import annotations",
    "import time\ntime.sleep(0.01)",
    "import transformers\ntransformers.logging.set_verbosity_error()",
    "x = {'a': 1}\nx.get('a')",
    "PROMPT = 'Q: {question}\\nA:'\nPROMPT.format(question='x')",
    "def f():\n    tmpl = '{0} and {1}'\n    return tmpl.format(1, 2)",
    "'{name}: {value:.3f}'.format_map({'name': 'a', 'value': 1.0})",
    "from typing import Literal\nclass A:\n    kind: 'Literal[\"two words\"]'",
    "class Node:\n    def add(self, other: 'Node') -> 'list[Node] | None':\n        return None",
]


@pytest.mark.parametrize("snippet", ALLOWED)
def test_allowed_code_has_no_findings(snippet: str) -> None:
    assert _rules(snippet) == set(), run_policy(snippet + ENTRY)


def test_torch_load_with_weights_only_is_file_io_only() -> None:
    assert _rules("import torch\ntorch.load('x.pt', weights_only=True)") == {"EP401"}


def test_positions_are_one_based() -> None:
    [finding] = run_policy("x = 1\ny = eval('2')" + ENTRY)
    assert (finding.rule, finding.line, finding.column) == ("EP201", 2, 5)


def test_findings_carry_rule_metadata() -> None:
    [finding] = run_policy("globals()" + ENTRY)
    assert finding.hint == RULES["EP203"].hint
    assert finding.severity == "error"


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("def helper(model):\n    return {}\n", "EP010"),
        ("async def evaluate_model(model):\n    return {}\n", "EP011"),
        ("def evaluate_model(a, b):\n    return {}\n", "EP011"),
        ("evaluate_model = lambda model: {}\n", "EP011"),
        ("if True:\n    def evaluate_model(model):\n        return {}\n", "EP010"),
    ],
)
def test_entrypoint_rules(source: str, rule: str) -> None:
    assert rule in {f.rule for f in run_policy(source)}


def test_rule_ids_are_well_formed() -> None:
    for rule_id, rule in RULES.items():
        assert rule_id == rule.id
        assert rule_id.startswith("EP") and len(rule_id) == 5
        assert rule.message and rule.hint


def test_every_rule_is_documented() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "validation.md"
    text = docs.read_text(encoding="utf-8")
    for rule_id, rule in RULES.items():
        assert f"| {rule_id} | {rule.name} | {rule.severity} |" in text
