"""Ordinary evaluation code that the policy used to refuse, allowed by class, and the
hostile code at the edge of each allowance, refused: at submit (the quick screen) and in
deep analysis (the policy engine)."""

from __future__ import annotations

import pytest

from validator.findings import blocking
from validator.policy.engine import run_policy
from validator.screen import parse_script, quick_screen

ENTRY = "\n\ndef evaluate_model(model):\n    return {}\n"


def _blocking(source: str) -> set[str]:
    source += ENTRY
    deep = {f.rule for f in blocking(run_policy(source))}
    return deep | {f.rule for f in blocking(quick_screen(parse_script(source), source=source))}


ALLOWED = {
    # getattr/hasattr with names drawn from a literal collection: each name is checked.
    "getattr_over_literal_tuple":
        "def f(m):\n    return {n: getattr(m, n) for n in ('accuracy', 'f1')}",
    "getattr_over_loop_tuple":
        "def f(m):\n    out = {}\n    for name in ('accuracy', 'f1'):\n"
        "        out[name] = getattr(m, name, 0.0)\n    return out",
    "getattr_over_named_tuple":
        "NAMES = ('accuracy', 'f1')\ndef f(m):\n    return [hasattr(m, n) for n in NAMES]",
    "getattr_over_sealed_list":
        "NAMES = ['accuracy', 'f1']\ndef f(m):\n    if 'f1' in NAMES and len(NAMES) > 1:\n"
        "        return [getattr(m, n) for n in sorted(NAMES)]",
    "getattr_module_by_literal_names":
        "import statistics\ndef f(xs):\n"
        "    return [getattr(statistics, fn)(xs) for fn in ('mean', 'median', 'pstdev')]",
    "getattr_module_literal": "import math\nx = getattr(math, 'pi')",
    # setattr on self over the method's own **kwargs.
    "setattr_kwargs_items":
        "class C:\n    def __init__(self, **kwargs):\n        for k, v in kwargs.items():\n"
        "            setattr(self, k, v)",
    "getattr_hasattr_kwargs":
        "class C:\n    def update(self, **kw):\n        for k, v in kw.items():\n"
        "            if not hasattr(self, k):\n                raise KeyError(k)\n"
        "            setattr(self, k, getattr(self, k) + v)\nC().update(a=1, **{'b': 2})",
    "setattr_kwargs_keys":
        "class C:\n    def update(self, **kw):\n        for k in kw.keys():\n"
        "            setattr(self, k, kw[k])",
    # class hooks and class names
    "init_subclass":
        "class Base:\n    registry = {}\n    def __init_subclass__(cls, **kw):\n"
        "        super().__init_subclass__(**kw)\n        Base.registry[cls.__name__] = cls",
    "class_name_read": "def name(x):\n    return x.__class__.__name__ + x.__class__.__qualname__",
    "class_name_in_fstring":
        "class A:\n    def __repr__(self):\n        return f'{self.__class__.__name__}()'",
    "set_name_missing":
        "class D(dict):\n    def __missing__(self, key):\n        return 0\n"
        "class F:\n    def __set_name__(self, owner, name):\n        self.name = name",
    # logging, stderr, tqdm
    "logging_get_logger":
        "import logging\nlogger = logging.getLogger(__name__)\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')\n"
        "logger.info('n=%d', 3)\nlogger.exception('x')",
    "logging_brace_literal":
        "import logging\nlogging.basicConfig(format='{levelname} {message}', style='{')\n"
        "h = logging.StreamHandler()\nh.setFormatter(logging.Formatter('{message}', style='{'))",
    "print_to_stderr":
        "import sys\nprint('x', file=sys.stderr)\nsys.stderr.write('y')\nsys.stdout.flush()",
    "sys_version": "import sys\nfrom sys import stderr\nok = sys.version_info >= (3, 11)",
    "tqdm_bar_format_literal":
        "from tqdm import tqdm\nBAR = '{l_bar}{bar}| {n_fmt}/{total_fmt}'\n"
        "for i in tqdm(range(2), bar_format=BAR):\n    pass",
    "logging_literal_private": "import logging\nf = logging.Formatter()\nf._fmt = '%(message)s'",
    "tqdm_imports":
        "import tqdm\nfrom tqdm import tqdm as bar, trange\nfrom tqdm.auto import tqdm as auto\n"
        "for i in bar(range(2), desc='x'):\n    pass\nfor i in tqdm.tqdm(trange(2)):\n    pass\n"
        "with auto(total=2) as b:\n    b.update(1)\nbar.write('done')",
}


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_ordinary_code_is_allowed(name: str) -> None:
    assert _blocking(ALLOWED[name]) == set(), run_policy(ALLOWED[name] + ENTRY)


CAUGHT = {
    # the collection can hold a computed name
    "list_appended": ("NAMES = ['a']\nNAMES.append(x)\nfor n in NAMES:\n    getattr(m, n)",
                      "EP202"),
    "set_added": ("NAMES = {'a'}\nNAMES.add(x)\n[getattr(m, n) for n in NAMES]", "EP202"),
    "set_xor_updated": ("NAMES = {'a'}\nNAMES.symmetric_difference_update({x})\n"
                        "[getattr(m, n) for n in NAMES]", "EP202"),
    "list_handed_out": ("NAMES = ['a']\ngrow(NAMES)\n[getattr(m, n) for n in NAMES]",
                        "EP202"),
    "list_aliased": ("NAMES = ['a']\nb = NAMES\nb += [x]\n[getattr(m, n) for n in NAMES]",
                     "EP202"),
    "list_item_set": ("NAMES = ['a']\nNAMES[0] = x\n[getattr(m, n) for n in NAMES]", "EP202"),
    "collection_rebound": ("NAMES = ('a',)\ndef f():\n    global NAMES\n    NAMES = (x,)\n"
                           "[getattr(m, n) for n in NAMES]", "EP202"),
    "loop_name_also_parameter": ("def f(m, n='a'):\n    for n in ('a', 'b'):\n        pass\n"
                                 "    return getattr(m, n)", "EP202"),
    "tuple_with_dunder": ("for n in ('a', '__class__'):\n    getattr(m, n)", "EP202"),
    "tuple_with_frame_attr": ("for n in ('a', 'f_back'):\n    getattr(m, n)", "EP202"),
    "unpacked_loop": ("for n, _ in PAIRS:\n    getattr(m, n)", "EP202"),
    "module_gadget_by_loop": ("import torch\nfor n in ('nn', 'utils'):\n"
                              "    s = getattr(torch, n)\ns.cpp_extension", "EP104"),
    "module_unlisted_by_loop": ("import dataclasses\nfor n in ('fields', 'make_dataclass'):\n"
                                "    getattr(dataclasses, n)", "EP107"),
    "module_setattr": ("import json\nsetattr(json, 'dumps', str)", "EP106"),
    # setattr over kwargs, but not the method's own kwargs onto its own first parameter
    "setattr_other_target": ("class C:\n    def f(self, t, **kw):\n"
                             "        for k, v in kw.items():\n            setattr(t, k, v)",
                             "EP202"),
    "setattr_other_mapping": ("class C:\n    def f(self, d, **kw):\n"
                              "        for k, v in d.items():\n            setattr(self, k, v)",
                              "EP202"),
    "setattr_kwargs_rebound": ("class C:\n    def f(self, **kw):\n        kw = dict(D)\n"
                               "        for k in kw:\n            setattr(self, k, 1)", "EP202"),
    "setattr_kwargs_item_set": ("class C:\n    def f(self, **kw):\n        kw[x] = 1\n"
                                "        for k in kw:\n            setattr(self, k, 1)", "EP202"),
    "setattr_self_rebound": ("class C:\n    def f(self, **kw):\n        self = T\n"
                             "        for k in kw:\n            setattr(self, k, 1)", "EP202"),
    "setattr_staticmethod": ("class C:\n    @staticmethod\n    def f(t, **kw):\n"
                             "        for k in kw:\n            setattr(t, k, 1)", "EP202"),
    "setattr_plain_function": ("def f(t, **kw):\n    for k in kw:\n        setattr(t, k, 1)",
                               "EP202"),
    "getattr_over_kwargs_unseen_keys": ("class C:\n    def f(self, **kw):\n        for k in kw:\n"
                                        "            getattr(self, k)\nC().f(**D)", "EP202"),
    # __class__ only as `.__name__`/`.__qualname__`
    "class_kept": ("c = x.__class__\nc.__name__", "EP301"),
    "class_base": ("x.__class__.__base__", "EP301"),
    "class_name_written": ("x.__class__.__name__ = 'y'", "EP301"),
    "class_pattern": ("match x:\n    case object(__class__=c):\n        pass", "EP301"),
    # logging: file and frame helpers, run-time `{` templates
    "logging_frame": ("import logging\nlogging.currentframe()", "EP107"),
    "logging_file": ("import logging\nlogging.FileHandler('x')", "EP107"),
    "logging_handlers": ("import logging.handlers", "EP107"),
    "logging_config": ("from logging.config import listen", "EP107"),
    "logging_style_class": ("import logging\nlogging.StrFormatStyle(f)", "EP107"),
    "logging_built_brace": ("import logging\nlogging.basicConfig(format='{' + f + '}', "
                            "style='{')", "EP202"),
    "logging_positional_style": ("import logging\nlogging.Formatter(t, None, '{')", "EP202"),
    "logging_unseen_style": ("import logging\nlogging.Formatter(t, style=s)", "EP202"),
    "logging_unpacked": ("import logging\nlogging.basicConfig(**opts)", "EP202"),
    "logging_smuggled": ("import logging\nlogging.os.system('id')", "EP104"),
    "logging_filename": ("import logging\nlogging.basicConfig(filename='x.log')", "EP401"),
    "logging_subclass_brace": ("import logging\nclass F(logging.Formatter):\n"
                               "    def __init__(self, t):\n"
                               "        super().__init__(t, style='{')", "EP202"),
    "logging_private_fmt": ("import logging\nf = logging.Formatter('{message}', style='{')\n"
                            "f._style._fmt = t", "EP202"),
    "logging_private_fmt_augmented": ("f._fmt += t", "EP202"),
    "logging_private_fmt_setattr": ("setattr(f, '_fmt', t)", "EP202"),
    # tqdm: a bar's template is a literal
    "tqdm_bar_format": ("from tqdm import tqdm\ntqdm(range(2), bar_format=t)", "EP202"),
    "tqdm_bar_format_attr": ("from tqdm import tqdm\nb = tqdm(range(2))\nb.bar_format = t",
                             "EP202"),
    "tqdm_format_meter": ("from tqdm import tqdm\n"
                          "tqdm.format_meter(1, 2, 3, None, '', False, 'it', False, None, t)",
                          "EP202"),
    # sys: only its plain values
    "sys_modules": ("import sys\nsys.modules['os']", "EP104"),
    "sys_from_import": ("from sys import _getframe", "EP104"),
    "sys_getattr": ("import sys\ngetattr(sys, 'settrace')", "EP104"),
    "sys_aliased": ("import sys as s\ns.setprofile(None)", "EP104"),
    "sys_value": ("import sys\nf(sys)", "EP106"),
    "sys_submodule": ("import sys.monitoring", "EP102"),
    "sys_stream_walk": ("import sys\nsys.stderr.__class__.__mro__", "EP301"),
    # tqdm: the bars only
    "tqdm_cli": ("import tqdm\ntqdm.cli.main()", "EP107"),
    "tqdm_process_map": ("from tqdm.contrib.concurrent import process_map", "EP104"),
    "tqdm_std": ("from tqdm.std import tqdm", "EP107"),
}


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_edges_of_each_allowance_are_refused(name: str) -> None:
    snippet, rule = CAUGHT[name]
    assert rule in _blocking(snippet), run_policy(snippet + ENTRY)


@pytest.mark.parametrize(
    ("snippet", "rule"),
    [
        ("import sys\nsys.modules['os']", "EP104"),
        ("from sys import modules", "EP104"),
        ("import sys\nprint(sys.__class__)", "EP301"),
        ("c = x.__class__", "EP301"),
        ("x.__class__.__base__.__name__", "EP301"),
    ],
)
def test_quick_screen_refuses_at_submit(snippet: str, rule: str) -> None:
    source = snippet + ENTRY
    assert rule in {f.rule for f in blocking(quick_screen(parse_script(source), source=source))}


@pytest.mark.parametrize(
    "snippet",
    ["import sys\nprint(1, file=sys.stderr)", "n = x.__class__.__name__", "import tqdm",
     "import logging\nlogging.getLogger(__name__)"],
)
def test_quick_screen_clears_ordinary_code(snippet: str) -> None:
    source = snippet + ENTRY
    assert blocking(quick_screen(parse_script(source), source=source)) == []


def test_forwarding_getattr_and_object_setattr() -> None:
    wrapper = ("class Wrapped:\n    def __init__(self, inner):\n"
               "        object.__setattr__(self, '_inner', inner)\n"
               "    def __getattr__(self, name):\n        return getattr(self._inner, name)\n"
               "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass P:\n"
               "    text: str\n    def __post_init__(self):\n"
               "        object.__setattr__(self, 'text', self.text.strip())")
    assert _blocking(wrapper) == set(), run_policy(wrapper + ENTRY)


@pytest.mark.parametrize(
    ("snippet", "rule"),
    [
        ("class W:\n    def __getattr__(self, name):\n        name = name + 'x'\n"
         "        return getattr(self.inner, name)", "EP202"),
        ("class W:\n    def __getattr__(self, name):\n        setattr(self.inner, name, 1)",
         "EP202"),
        ("class W:\n    def fetch(self, name):\n        return getattr(self.inner, name)",
         "EP202"),
        ("def __getattr__(name):\n    return getattr(obj, name)", "EP202"),
        ("object.__setattr__(x, k, 1)", "EP202"),
        ("object.__setattr__(x, '__class__', C)", "EP202"),
        ("object.__getattribute__(x, 'device')", "EP301"),
        ("object.__delattr__(x, 'device')", "EP301"),
        ("f = object.__setattr__", "EP301"),
        ("g = object.__setattr__\ng(x, 'a', 1)", "EP202"),
        ("object = T\nobject.__setattr__(x, 'a', 1)", "EP301"),
        ("x.__setattr__('a', 1)", "EP301"),
        ("int.__getattribute__(1, 'real')", "EP301"),
    ],
)
def test_reflection_written_the_long_way_is_checked(snippet: str, rule: str) -> None:
    assert rule in _blocking(snippet), run_policy(snippet + ENTRY)
