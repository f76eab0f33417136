"""Attribute names that reach reflection as data (security review of the dataclass-fields,
keyword-setattr and update_wrapper allowances): each route to a runtime-chosen name is
refused as a class, and the ordinary code next to it stays allowed."""

from __future__ import annotations

import pytest

from validator.findings import blocking
from validator.policy.engine import run_policy

ENTRY = "\n\ndef evaluate_model(model):\n    return {}\n"
ROW = "import dataclasses\n@dataclasses.dataclass\nclass Row:\n    value: int = 0\n"
SETTINGS = ("class Settings:\n    def __init__(self, **kwargs):\n"
            "        for key, value in kwargs.items():\n            setattr(self, key, value)\n")
READ_FIELD = ("def read(obj):\n    for f in dataclasses.fields(Row):\n"
              "        return getattr(obj, f.name)\n")


def _rules(source: str) -> set[str]:
    return {f.rule for f in blocking(run_policy(source + ENTRY))}


# 1. `getattr(obj, f.name)` over dataclasses.fields: any way to hold a Field object other
# than reading its attributes withdraws the allowance.
FIELD_RENAMES = {
    "setattr_literal_name": "def g(a):\n    for f in dataclasses.fields(Row):\n"
                            "        setattr(f, 'name', a)\n",
    "setattr_computed_name": "def g(a, n):\n    for f in dataclasses.fields(Row):\n"
                             "        setattr(f, n, a)\n",
    "kwargs_setter_unbound": SETTINGS + "def g(a):\n    for f in dataclasses.fields(Row):\n"
                                        "        Settings.__init__(f, name=a)\n",
    "library_init_unbound": "import logging\ndef g(a):\n    for f in dataclasses.fields(Row):\n"
                            "        logging.Logger.__init__(f, a)\n",
    "field_aliased": "def g(a):\n    for f in dataclasses.fields(Row):\n        h = f\n",
    "fields_kept": "FS = dataclasses.fields(Row)\n",
    "fields_as_value": "fl = dataclasses.fields\n",
    "module_as_value": "dc = dataclasses\n",
    "field_dunder_method": "def g(a):\n    for f in dataclasses.fields(Row):\n"
                           "        f.__init__(a)\n",
    "field_in_plain_class": "class Base:\n    value: int = dataclasses.field(default=0)\n",
    "field_named_in_body": "@dataclasses.dataclass\nclass B:\n"
                           "    value: int = dataclasses.field(default=0)\n    keep = value\n",
    "field_with_init_subclass":
        "class Hook:\n    def __init_subclass__(cls):\n        pass\n"
        "@dataclasses.dataclass\nclass B(Hook):\n    value: int = dataclasses.field(default=0)\n",
    "field_with_set_name":
        "import logging\nclass Hook:\n    def __set_name__(self, owner, name):\n"
        "        logging.Logger.__init__(owner.value, 'x')\n"
        "@dataclasses.dataclass\nclass B:\n    value: int = dataclasses.field(default=0)\n"
        "    hook = Hook()\n",
    "field_under_inner_decorator":
        "def rename(cls):\n    return cls\n"
        "@dataclasses.dataclass\n@rename\nclass B:\n"
        "    value: int = dataclasses.field(default=0)\n",
    "field_with_metaclass":
        "class M(type):\n    pass\n"
        "@dataclasses.dataclass\nclass B(metaclass=M):\n"
        "    value: int = dataclasses.field(default=0)\n",
    "make_dataclass": "C = dataclasses.make_dataclass('C', [('x', int)])\n",
    "name_store": "class O:\n    pass\nO().name = 'x'\n",
}


@pytest.mark.parametrize("name", sorted(FIELD_RENAMES))
def test_field_name_getattr_refused_when_a_field_may_be_renamed(name: str) -> None:
    assert "EP202" in _rules(ROW + FIELD_RENAMES[name] + READ_FIELD)


@pytest.mark.parametrize(
    "extra",
    [
        "",
        # a frozen dataclass normalising its own fields
        "@dataclasses.dataclass(frozen=True)\nclass Ex:\n    q: str\n"
        "    def __post_init__(self):\n        for f in dataclasses.fields(self):\n"
        "            object.__setattr__(self, f.name, getattr(self, f.name).strip())\n",
        # field() as a plain dataclass field, and field attributes read
        "@dataclasses.dataclass\nclass B:\n"
        "    xs: list = dataclasses.field(default_factory=list)\n"
        "def names():\n    return {f.name: f.type for f in dataclasses.fields(B)}\n",
        "from dataclasses import fields\ndef g(o):\n"
        "    return [getattr(o, f.name) for f in fields(o)]\n",
    ],
)
def test_field_name_getattr_allowed_in_ordinary_loops(extra: str) -> None:
    assert _rules(ROW + extra + READ_FIELD) == set()


# 2. update_wrapper / wraps copy attributes named by `assigned` / `updated`.
@pytest.mark.parametrize(
    "snippet",
    [
        "import functools\ndef g(h, o, n):\n"
        "    functools.update_wrapper(h, o, assigned=[n], updated=[])\n",
        "import functools\ndef g(h, o, n):\n    functools.update_wrapper(h, o, [n])\n",
        "import functools\ndef g(o, n):\n    return functools.wraps(o, assigned=(n,))\n",
        "import functools\ndef g(o, n):\n    return functools.wraps(o, (), [n])\n",
        "import functools\ndef g(h, o):\n"
        "    functools.update_wrapper(h, o, assigned=('__globals__',))\n",
        "import functools\ndef g(h, o, kw):\n    functools.update_wrapper(h, o, **kw)\n",
        "import functools\nNAMES = ['a']\ndef g(h, o):\n"
        "    functools.update_wrapper(h, o, assigned=NAMES)\n",
        "import functools\nuw = functools.update_wrapper\n",
        "import functools\nw = functools.partial(functools.wraps, assigned=())\n",
    ],
)
def test_wrapper_attribute_names_must_be_literal(snippet: str) -> None:
    assert "EP202" in _rules(snippet)


def test_ordinary_wraps_is_allowed() -> None:
    source = (
        "import functools\n"
        "def deco(f):\n    @functools.wraps(f)\n    def inner(*a, **k):\n"
        "        return f(*a, **k)\n    return inner\n"
        "def deco2(f):\n    def inner(*a, **k):\n        return f(*a, **k)\n"
        "    functools.update_wrapper(inner, f, assigned=('__name__', '__doc__'), updated=())\n"
        "    return functools.update_wrapper(inner, f, functools.WRAPPER_ASSIGNMENTS)\n"
        "@deco\n@deco2\ndef h():\n    pass\n"
    )
    assert _rules(source) == set()


@pytest.mark.parametrize(
    "snippet",
    [
        "import operator\ndef g(o, n):\n    return operator.attrgetter(n)(o)\n",
        "import operator\ndef g(o, n):\n    return operator.methodcaller(n)(o)\n",
        ROW + "def g(n):\n    return dataclasses.replace(Row(), **{n: 1})\n",
        ROW + "def g(d):\n    return dataclasses.replace(Row(), **d)\n",
        ROW + "def g():\n    return dataclasses.replace(Row(), __class__=int)\n",
        "def g(o, n):\n    return ('{0.' + n + '}').format(o)\n",
        "def g(o, n):\n    return ('{o.' + n + '}').format_map({'o': o})\n",
        "import logging\ndef g(t):\n    return logging.Formatter(t, style='{')\n",
        "def g(o):\n    return vars(o)\n",
    ],
)
def test_other_attribute_names_as_data_are_refused(snippet: str) -> None:
    assert "EP202" in _rules(snippet) or "EP203" in _rules(snippet), run_policy(snippet + ENTRY)


# 3. keyword-driven setattr: every keyword in the script must be a visible, allowed name.
@pytest.mark.parametrize(
    "caller",
    [
        "def g(b, n):\n    Settings.__init__(b, **{n: Settings})\n",
        "def g(d):\n    return Settings(**d)\n",
        "def g(b):\n    Settings.__init__(b, __class__=Settings)\n",
        "def g(b):\n    Settings.__init__(b, **{'__class__': Settings})\n",
        "import functools\ndef g(d):\n    return functools.partial(Settings, **d)\n",
        "def g(**kw):\n    kw['x'] = 1\n    return Settings(**kw)\n",
    ],
)
def test_keyword_setattr_refused_with_unseen_keywords(caller: str) -> None:
    assert "EP202" in _rules(SETTINGS + caller), run_policy(SETTINGS + caller + ENTRY)


@pytest.mark.parametrize(
    "caller",
    [
        "s = Settings(batch_size=2, **{'lr': 0.1})\n",
        "def make(**kw):\n    return Settings(**kw)\ns = make(batch_size=2)\n",
    ],
)
def test_keyword_setattr_allowed_with_literal_keywords(caller: str) -> None:
    assert _rules(SETTINGS + caller) == set()


def test_unseen_keywords_are_fine_without_a_keyword_setattr() -> None:
    assert _rules("def g(m, inputs):\n    return m.generate(**inputs)\n") == set()


@pytest.mark.parametrize(
    "snippet",
    [
        "import transformers\ndef g(victim, n):\n"
        "    transformers.GenerationConfig.__init__(victim, **{n: int})\n",
        "def g(victim, d):\n    type(victim).__init__(victim, **d)\n",
    ],
)
def test_explicit_init_with_unseen_keywords_is_refused(snippet: str) -> None:
    assert "EP202" in _rules(snippet), run_policy(snippet + ENTRY)


def test_init_chaining_with_own_kwargs_is_allowed() -> None:
    source = ("class A:\n    def __init__(self, **kw):\n        self.kw = kw\n"
              "class B(A):\n    def __init__(self, **kw):\n        A.__init__(self, **kw)\n"
              "class C(A):\n    def __init__(self, cfg):\n        super().__init__(**cfg)\n")
    assert _rules(source) == set()


# 4. harmless sys values
def test_plain_sys_values_are_allowed() -> None:
    source = ("import sys\nprint(sys.version, sys.platform, sys.byteorder, sys.hexversion,\n"
              "      sys.maxsize, sys.float_info.epsilon, file=sys.stderr)\n")
    assert _rules(source) == set()
