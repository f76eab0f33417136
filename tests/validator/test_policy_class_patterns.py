"""Class patterns read attributes, and a class changed outside its body is not what its body
says: `case object(os=o)` binds whatever `subject.os` is, and `Box.__new__ = f` makes `Box()`
any object (attacker report #2)."""

from __future__ import annotations

import pytest

from validator.policy.engine import run_policy

ENTRY = "\ndef evaluate_model(model):\n    return {}\n"


def _findings(source: str) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in run_policy(source + ENTRY)]


def _rules(source: str) -> set[str]:
    return {rule for rule, _ in _findings(source)}


REFUSED_PATTERNS = [
    # a foreign or builtin class with keyword sub-patterns reads any subject's attribute
    "import torch\nmatch torch.cuda:\n    case object(os=o):\n        pass",
    "import torch\nmatch torch.nn:\n    case object(functional=F):\n        pass",
    "match x:\n    case dict(items=i):\n        pass",
    "match x:\n    case int(real=r):\n        pass",
    "match x:\n    case str(a, b):\n        pass",
    # positional sub-patterns read a library class's `__match_args__`
    "import logging\nmatch x:\n    case logging.Logger(name):\n        pass",
    "import torch\nmatch x:\n    case torch.Size(a):\n        pass",
    # nested: in a mapping, a sequence, an alternative
    "import torch\nmatch {'m': torch.cuda}:\n    case {'m': object(os=o)}:\n        pass",
    "match x:\n    case [object(os=o), *_]:\n        pass",
    "match x:\n    case 1 | object(os=o):\n        pass",
    # a script class with a library base, a metaclass, a decorator, or a library subclass
    "import logging\nclass L(logging.Logger):\n    pass\nmatch x:\n    case L(manager=m):\n"
    "        pass",
    "class M(type):\n    pass\nclass C(metaclass=M):\n    pass\nmatch x:\n    case C(a=a):\n"
    "        pass",
    "import functools\n@functools.lru_cache\nclass C:\n    pass\nmatch x:\n    case C(a=a):\n"
    "        pass",
    "import logging\nclass R:\n    pass\nclass Mixed(R, logging.Logger):\n    pass\n"
    "match x:\n    case R(manager=m):\n        pass",
    # a class name bound to something else too
    "class R:\n    pass\nR = object\nmatch x:\n    case R(os=o):\n        pass",
    "def f(R):\n    match x:\n        case R(os=o):\n            pass",
]


@pytest.mark.parametrize("source", REFUSED_PATTERNS)
def test_class_pattern_on_foreign_class_refused(source: str) -> None:
    findings = _findings(source)
    assert any(rule == "EP202" and "class pattern" in message for rule, message in findings)


ALLOWED_PATTERNS = [
    "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\n    y: int\n"
    "@dataclass\nclass Q(P):\n    z: int\nmatch p:\n    case Q(x, y, z=0) | P(x, y):\n"
    "        pass",
    "class P:\n    __match_args__ = ('x',)\n    def __init__(self, x):\n        self.x = x\n"
    "match p:\n    case P(x):\n        pass",
    "from collections import namedtuple\nPair = namedtuple('Pair', 'a b')\nmatch p:\n"
    "    case Pair(a, b=b):\n        pass",
    "from typing import NamedTuple\nclass S(NamedTuple):\n    lp: float\nmatch p:\n"
    "    case S(lp=lp):\n        pass",
    "match p:\n    case str(s) | int(s) | float(s) | bytes(s) | list(s) | dict(s):\n        pass",
    "import torch\nmatch p:\n    case torch.Tensor() | object():\n        pass",
    "match p:\n    case {'kind': k, **rest}:\n        pass\n    case [a, *others]:\n        pass\n"
    "    case 'x' | 1 | None:\n        pass",
]


@pytest.mark.parametrize("source", ALLOWED_PATTERNS)
def test_class_pattern_on_own_class_allowed(source: str) -> None:
    assert _findings(source) == []


REFUSED_DUNDER_STORES = [
    ("class Box:\n    pass\nBox.__new__ = staticmethod(lambda cls: model)", "EP301"),
    ("class Box:\n    pass\nsetattr(Box, '__new__', staticmethod(lambda cls: model))", "EP301"),
    ("class Box:\n    pass\nobject.__setattr__(Box, '__new__', None)", "EP301"),
    ("class Box:\n    pass\nfor name in ('__call__',):\n    setattr(Box, name, f)", "EP301"),
    ("class Box:\n    pass\nBox.__init__ = f", "EP301"),
    ("class Box:\n    pass\nBox.__call__ = f", "EP301"),
    ("class Box:\n    pass\nBox.__class_getitem__ = f", "EP301"),
    ("class Box:\n    pass\nBox.__init_subclass__ = f", "EP301"),
    ("class Box:\n    pass\nBox.__get__ = f", "EP301"),
    ("class Box:\n    pass\nfor Box.__new__ in [f]:\n    pass", "EP301"),
    ("class Box:\n    pass\ndel Box.__init__", "EP301"),
    ("class Box:\n    pass\ndelattr(Box, '__repr__')", "EP301"),
    ("obj.__len__ = f", "EP301"),
    # a keyword-driven setattr run on the class writes a dunder named by a keyword
    ("class S:\n    def __init__(self, **kw):\n        for k, v in kw.items():\n"
     "            setattr(self, k, v)\nclass Box:\n    pass\nS.__init__(Box, __new__=f)", "EP202"),
    ("class S:\n    def __init__(self, **kw):\n        for k, v in kw.items():\n"
     "            setattr(self, k, v)\nS(**{'__call__': f})", "EP202"),
]


@pytest.mark.parametrize(("source", "rule"), REFUSED_DUNDER_STORES)
def test_dunder_store_outside_class_body_refused(source: str, rule: str) -> None:
    assert rule in _rules(source)


ALLOWED_DUNDERS = [
    # defined in the class body, read, or called: what the body says
    "class Box:\n    def __new__(cls):\n        return super().__new__(cls)\n"
    "    def __call__(self):\n        return 1\nBox()()",
    "class Box:\n    def __init__(self, x):\n        self.x = x\nprint(Box.__name__, Box(1).x)",
    "class S:\n    def __init__(self, **kw):\n        for k, v in kw.items():\n"
    "            setattr(self, k, v)\nS(lr=0.1, steps=3)",
    "class Box:\n    pass\nsetattr(Box, 'size', 3)",
]


@pytest.mark.parametrize("source", ALLOWED_DUNDERS)
def test_dunders_in_class_body_allowed(source: str) -> None:
    assert _findings(source) == []


@pytest.mark.parametrize("source", [
    "import functools\nclass Box:\n    pass\n"
    "functools.update_wrapper(Box, src, assigned=('__new__',), updated=())",
    "import functools\nclass Box:\n    pass\nfunctools.wraps(src, assigned=['__call__'])(Box)",
])
def test_wrapper_copying_a_dunder_refused(source: str) -> None:
    assert "EP202" in _rules(source)


def test_wrapper_copying_default_names_allowed() -> None:
    source = ("import functools\ndef inner(x):\n    return x\n"
              "@functools.wraps(inner, assigned=('__name__', '__doc__'))\n"
              "def outer(x):\n    return inner(x)")
    assert _findings(source) == []
