"""Name resolution follows Python's scoping (symtable), not the spelling of names."""

from __future__ import annotations

import ast
import importlib.util
import symtable
import textwrap
from pathlib import Path

import pytest

from validator.findings import Finding
from validator.policy.engine import run_policy
from validator.policy.scopes import ScopeMismatchError, module_scope

ENTRY = "\n\ndef evaluate_model(model):\n    return {}\n"


def _findings(source: str) -> list[Finding]:
    return run_policy(textwrap.dedent(source) + ENTRY)


def _lines(source: str, rule: str) -> set[int | None]:
    return {f.line for f in _findings(source) if f.rule == rule}


# `torch.utils` is an allowed value; only resolution can tell that `x.cpp_extension` is the
# denied `torch.utils.cpp_extension`, so these cases name the line the alias is used on.
RESOLVED = [
    (
        "a global bound after the function that uses it",
        """
        import torch
        def build():
            return utils.cpp_extension
        utils = torch.utils
        """,
        4,
    ),
    (
        "a closure two functions deep",
        """
        import torch
        def outer():
            u = torch.utils
            def inner():
                def innermost():
                    return u.cpp_extension
                return innermost
            return inner
        """,
        7,
    ),
    (
        "a nonlocal rebinding",
        """
        import torch
        def outer():
            u = None
            def set_u():
                nonlocal u
                u = torch.utils
            set_u()
            return u.cpp_extension
        """,
        9,
    ),
    (
        "a global declared in another function",
        """
        import torch
        u = None
        def set_u():
            global u
            u = torch.utils
        def use():
            return u.cpp_extension
        """,
        8,
    ),
    (
        "a class attribute used in the class body",
        """
        import torch
        class K:
            u = torch.utils
            ext = u.cpp_extension
        """,
        5,
    ),
    (
        "a walrus in a comprehension, which binds in the function",
        """
        import torch
        def f():
            [u := torch.utils for _ in range(1)]
            return u.cpp_extension
        """,
        5,
    ),
    (
        "tuple unpacking through a cycle of swaps",
        """
        import torch
        def f(a, b, c):
            a, b, c = c, a, torch.utils
            b, c, a = a, b, c
            c, a, b = a, b, c
            return a.cpp_extension
        """,
        7,
    ),
    (
        "a lambda default argument",
        """
        import torch
        f = lambda u=torch.utils: u.cpp_extension
        """,
        3,
    ),
    (
        "a function default argument",
        """
        import torch
        def f(u=torch.utils):
            return u.cpp_extension
        """,
        4,
    ),
    (
        "a loop over a literal tuple",
        """
        import torch
        for u in (torch.nn, torch.utils):
            u.cpp_extension
        """,
        4,
    ),
    (
        "a comprehension over a literal list",
        """
        import torch
        xs = [u.cpp_extension for u in [torch.utils]]
        """,
        3,
    ),
    (
        "getattr with a literal name",
        """
        import torch
        u = getattr(torch, "utils")
        u.cpp_extension
        """,
        4,
    ),
    (
        "a name rebound to something benign on one path only",
        """
        import torch
        u = torch.utils
        if flag:
            u = torch.nn
        u.cpp_extension
        """,
        6,
    ),
    (
        "NFKC-normalised identifiers (the parser normalises them)",
        """
        import torch
        ｕ = torch.utils
        u.cpp_extension
        """,  # noqa: RUF001
        4,
    ),
]


@pytest.mark.parametrize(("case", "source", "line"), RESOLVED, ids=[c for c, _, _ in RESOLVED])
def test_alias_resolves(case: str, source: str, line: int) -> None:
    assert line in _lines(source, "EP104"), _findings(source)


NOT_THE_SAME_NAME = [
    (
        "methods do not see class attributes",
        """
        import torch
        u = 1
        class K:
            u = torch.utils
            def m(self):
                return u.cpp_extension
        """,
    ),
    (
        "comprehensions in a class body do not see class attributes",
        """
        import torch
        u = 1
        class K:
            u = torch.utils
            xs = [u.cpp_extension for _ in range(1)]
        """,
    ),
    (
        "a parameter shadows the global",
        """
        import torch
        u = torch.utils
        def f(u):
            return u.cpp_extension
        """,
    ),
    (
        "a local in another function is another name",
        """
        import torch
        def f():
            u = torch.utils
            return u
        def g():
            u = 1
            return u.cpp_extension
        """,
    ),
]


@pytest.mark.parametrize(
    ("case", "source"), NOT_THE_SAME_NAME, ids=[c for c, _ in NOT_THE_SAME_NAME]
)
def test_scopes_keep_names_apart(case: str, source: str) -> None:
    last_line = len(textwrap.dedent(source).rstrip().splitlines())
    assert last_line not in _lines(source, "EP104"), _findings(source)
    # The same use does resolve once the name it really refers to is the alias.
    aliased = source.replace("u = 1", "u = torch.utils").replace("def f(u):", "def f(v):")
    assert last_line in _lines(aliased, "EP104"), _findings(aliased)


BUILTIN_STILL_REACHABLE = [
    ("used before the def that shadows it", "compile('1', 'f', 'x')\ndef compile(*a):\n    pass"),
    (
        "a function called before the shadowing def",
        "def run():\n    return compile('1', 'f', 'exec')\nrun()\ndef compile(*a):\n    pass",
    ),
    ("shadowed on one branch only", "if flag:\n    def compile(s):\n        pass\ncompile('1')"),
    ("shadowed in a loop that may not run", "for compile in []:\n    pass\ncompile('1')"),
    ("deleted", "compile = print\ncompile('1')\ndel compile\ncompile('2')"),
    (
        "deleted from a function through `global`",
        "def compile(s):\n    pass\n"
        "def forget():\n    global compile\n    del compile\n"
        "compile('1')",
    ),
    (
        "an `except ... as` name, deleted when the handler ends",
        "try:\n    pass\nexcept Exception as compile:\n    pass\ncompile('1')",
    ),
    ("a class body falls back to builtins", "class K:\n    c = compile\n    compile = 1"),
    ("a declaration is not a binding", "compile: int\ncompile('1')"),
]


@pytest.mark.parametrize(
    ("case", "source"), BUILTIN_STILL_REACHABLE, ids=[c for c, _ in BUILTIN_STILL_REACHABLE]
)
def test_builtin_reachable_on_some_path_is_flagged(case: str, source: str) -> None:
    assert "EP201" in {f.rule for f in _findings(source)}


BUILTIN_SURELY_SHADOWED = [
    "def compile(s):\n    return s\ncompile('1')",
    "def compile(s):\n    return s\ndef run():\n    return compile('1')",
    "class K:\n    compile = staticmethod(len)\n    n = compile('1')",
    "input = 'text'\ndef show():\n    print(input)",
]


@pytest.mark.parametrize("source", BUILTIN_SURELY_SHADOWED)
def test_builtin_surely_shadowed_is_not_flagged(source: str) -> None:
    assert _findings(source) == []


def test_format_receiver_must_be_literal_on_every_path() -> None:
    literal = "tmpl = '{0}'\ntmpl.format(1)"
    assert _findings(literal) == []
    maybe_built = "tmpl = '{0}'\nif flag:\n    tmpl = make()\ntmpl.format(1)"
    assert "EP202" in {f.rule for f in _findings(maybe_built)}


def test_names_in_postponed_annotations_are_resolved() -> None:
    source = "from __future__ import annotations\ndef f(x: exec) -> (lambda: 1):\n    pass"
    assert "EP201" in {f.rule for f in _findings(source)}


def test_code_that_parses_but_cannot_compile_is_a_syntax_error() -> None:
    [finding] = run_policy("nonlocal x\n" + ENTRY)
    assert (finding.rule, finding.line) == ("EP001", 1)


def test_columns_count_characters_not_bytes() -> None:
    [finding] = run_policy("s = 'é'; eval('1')" + ENTRY)
    assert (finding.rule, finding.line, finding.column) == ("EP201", 1, 10)


# Blocks on one line are told apart by symtable's visiting order; every lambda here has its
# own parameter name, so a block matched out of order fails the parameter check.
SAME_LINE_BLOCKS = [
    "@(lambda d: d)\ndef f(p: (lambda p1: 1), /, a: (lambda p2: 2) = (lambda p3: 3), "
    "*v: (lambda p4: 4), k: (lambda p5: 5) = (lambda p6: 6), **w: (lambda p7: 7)) "
    "-> (lambda p8: 8): pass",
    "@(lambda d: d)\nclass C((lambda p1: 1), metaclass=(lambda p2: 2)): pass",
    "f = lambda a=(lambda p1: 1), *, k=(lambda p2: 2): (lambda p3: 3)",
    "x: (lambda p1: 1) = (lambda p2: 2)",
    "xs = [(lambda p1: 1) for a in (lambda p2: 2)() if (lambda p3: 3) for b in (lambda p4: 4)()]",
    "d = {(lambda p1: 1): (lambda p2: 2) for k in q}",
    "d = {[(lambda p1: 1) for a in x]: [(lambda p2: 2) for b in y] for k in q}",
    "try: (lambda p1: 1)\nexcept (lambda p2: 2) as e: (lambda p3: 3)\n"
    "else: (lambda p4: 4)\nfinally: (lambda p5: 5)",
    "match (lambda p1: 1):\n case {'k': x} if (lambda p2: 2): (lambda p3: 3)",
    "y = {(lambda p1: 1): (lambda p2: 2), **(lambda p3: 3)(), (lambda p4: 4): (lambda p5: 5)}",
    "z = (lambda p1: 1) if (lambda p2: 2) else (lambda p3: 3)",
    "from __future__ import annotations\n"
    "def f(a: (lambda p1: 1) = (lambda p2: 2)) -> (lambda p3: 3): pass",
]


@pytest.mark.parametrize("source", SAME_LINE_BLOCKS)
def test_blocks_on_one_line_match_symtable(source: str) -> None:
    run_policy(source + ENTRY)  # raises ScopeMismatchError if the walk and symtable disagree


def test_a_block_matched_out_of_order_is_detected() -> None:
    table = symtable.symtable("f = (lambda p1: 1, lambda p2: 2)", "<s>", "exec")
    scope = module_scope(table)
    with pytest.raises(ScopeMismatchError):
        scope.child("function", ("lambda", 1), 0, in_symtable=True).expect_parameters(["p2"])


@pytest.mark.parametrize("module", ["argparse", "dataclasses", "typing", "asyncio.base_events"])
def test_stdlib_modules_match_symtable(module: str) -> None:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text(encoding="utf-8")
    try:
        run_policy(source, None, ast.parse(source))
    except ScopeMismatchError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{module}: {exc}")


def test_long_method_chains_resolve_cheaply() -> None:
    assert _findings("word = 'x'" + ".replace('a', 'b')" * 300) == []


def test_alias_chains_resolve_within_the_limit() -> None:
    chain = "".join(f"a{i} = a{i + 1}\n" for i in range(60))
    source = "import torch\n" + chain + "a60 = torch.utils\na0.cpp_extension"
    assert 63 in _lines(source, "EP104")


def test_private_names_are_mangled_as_the_compiler_does() -> None:
    source = """
    import torch
    class Loader:
        __u = torch.utils
        def fetch(self, __arg=None):
            return Loader.__u, __arg
        ext = __u.cpp_extension
    """
    assert 7 in _lines(source, "EP104")
