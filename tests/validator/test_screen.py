"""`parse_script` fails only with ScriptSyntaxError; `quick_screen` flags obvious escapes fast."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from validator.screen import ScriptSyntaxError, mentions_screened_names, parse_script, quick_screen

OK = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"
BENIGN = Path(__file__).resolve().parent.parent / "corpus" / "benign"


def _rules(source: str) -> set[str]:
    tree = parse_script(source)
    findings = quick_screen(tree, source=source)
    assert findings == quick_screen(tree), "the text pre-read changed the screen's findings"
    return {f.rule for f in findings}


def test_parse_ok() -> None:
    assert parse_script(OK).body


def test_syntax_error_has_position() -> None:
    with pytest.raises(ScriptSyntaxError) as info:
        parse_script("def evaluate_model(model):\n    return {\n")
    assert info.value.line == 2
    assert info.value.column is not None


def test_null_byte_position() -> None:
    with pytest.raises(ScriptSyntaxError) as info:
        parse_script("x = 1\ny = 2\x00\n")
    assert (info.value.line, info.value.column) == (2, 6)
    assert "null" in info.value.message


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "1+" * 200_000 + "1",  # RecursionError in the parser
        "x = " + "-" * 100_000 + "1",  # MemoryError in the parser
        "x = " + "(" * 300 + "1" + ")" * 300,  # too many nested parentheses
        "x = '\ud800'",  # lone surrogate: cannot be encoded
    ],
    ids=["recursion", "memory", "parens", "surrogate"],
)
def test_parser_failures_are_typed(source: str) -> None:
    with pytest.raises(ScriptSyntaxError):
        parse_script(source)


def test_clean_script_passes() -> None:
    assert quick_screen(parse_script(OK)) == []


@pytest.mark.parametrize(
    ("snippet", "rule"),
    [
        ("import os", "EP102"),
        ("match print:\n    case object(__self__=b):\n        pass", "EP301"),
        ("match e:\n    case object(tb_frame=f):\n        pass", "EP204"),
        ("import os.path as p", "EP102"),
        ("from subprocess import run", "EP102"),
        ("import torch.hub", "EP104"),
        ("from torch import hub", "EP104"),
        ("eval('1')", "EP201"),
        ("f = exec", "EP201"),
        ("__import__('os')", "EP201"),
        ("compile('1', 'x', 'eval')", "EP201"),
        ("globals()", "EP203"),
        ("locals()", "EP203"),
        ("vars()", "EP203"),
        ("breakpoint()", "EP205"),
        ("input()", "EP205"),
        ("open('/etc/passwd')", "EP401"),
        ("().__class__.__mro__", "EP301"),
        ("object.__subclasses__()", "EP301"),
        ("f.__globals__", "EP301"),
        ("b = __builtins__", "EP301"),
        ("f.__code__", "EP301"),
        ("x.__bases__", "EP301"),
        ("e.tb_frame", "EP204"),
        ("g.gi_frame", "EP204"),
        ("ｅｘｅｃ('1')", "EP201"),  # noqa: RUF001
    ],
)
def test_forbidden_constructs(snippet: str, rule: str) -> None:
    assert rule in _rules(OK + snippet + "\n")


def test_position_is_reported() -> None:
    findings = quick_screen(parse_script(OK + "x = 1\ny = eval('2')\n"))
    assert [(f.rule, f.line, f.column) for f in findings] == [("EP201", 4, 5)]


def test_user_bound_names_are_not_builtins() -> None:
    assert _rules(OK + "input = [1]\nprint(input)\ndef vars(): pass\nvars()\n") == set()


def test_safe_dunders_pass() -> None:
    assert _rules(OK + "if __name__ == '__main__':\n    print(type(1).__name__)\n") == set()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def other(model):\n    return {}\n", None),
        ("async def evaluate_model(model):\n    return {}\n", "plain"),
        ("def evaluate_model():\n    return {}\n", "one positional"),
        ("def evaluate_model(model, extra, more):\n    return {}\n", "give the others defaults"),
        ("def evaluate_model(model, *, k):\n    return {}\n", "keyword-only"),
        (OK + "evaluate_model = print\n", "more than once"),
    ],
)
def test_entrypoint(source: str, message: str | None) -> None:
    findings = quick_screen(parse_script(source))
    rule = "EP010" if message is None else "EP011"
    assert [f.rule for f in findings] == [rule]
    assert message is None or message in findings[0].message


def _corpus_and_stdlib() -> list[Path]:
    corpus = sorted((BENIGN.parent).glob("*/*.py"))
    stdlib = sorted(Path(ast.__file__).parent.glob("*.py"))
    return corpus + stdlib


def test_reading_the_source_first_never_changes_the_findings() -> None:
    # The fast path (only imports visited when no screened identifier is written) against
    # the full walk, over the evasion and benign corpora and the stdlib's own modules.
    fast_paths = 0
    for path in _corpus_and_stdlib():
        source = path.read_text(encoding="utf-8")
        try:
            tree = parse_script(source)
        except ScriptSyntaxError:
            continue
        assert quick_screen(tree, source=source) == quick_screen(tree), path
        fast_paths += not mentions_screened_names(source)
    assert fast_paths > 20, "the corpus no longer exercises the fast path"


@pytest.mark.parametrize(
    "source",
    [
        "import os\n" + OK,
        "if True:\n    from subprocess import run\n" + OK,
        "try:\n    pass\nexcept Exception:\n    import ctypes\n" + OK,
        "match 1:\n    case 1:\n        import socket\n" + OK,
        "class C:\n    def f(self):\n        from torch.hub import load\n" + OK,
    ],
)
def test_imports_nested_anywhere_are_found_on_the_fast_path(source: str) -> None:
    assert not mentions_screened_names(source)
    assert _rules(source) & {"EP102", "EP104"}


@pytest.mark.parametrize(
    ("source", "to_screen"),
    [
        (OK, False),
        (OK + "if __name__ == '__main__':\n    pass\n", False),
        (OK + "x = y.__class__\n", True),
        (OK + "x = (y .\n  f_back)\n", True),
        (OK + "x = \uff45\uff56\uff41\uff4c\n", True),  # fullwidth `eval`
        (OK + "s = 'évaluer'\n", True),
        (OK + "print(open)\n", True),
        (OK + "import re\nNUMBER = re.compile('[0-9]+')\n", False),
        (OK + "NUMBER = re .compile('[0-9]+')\n", False),
        (OK + "NUMBER = re.\\\ncompile('[0-9]+')\n", True),
        (OK + "s = 'open the door'\n", True),
        ("from __future__ import annotations\n" + OK, False),
        ("from __future__ import annotations\n" + OK + "x = __future__\n", True),
        (OK + "def g():\n    yield from __builtins__\nimport os\n", True),
        (OK + "def g():\n    raise ValueError from __loader__\n", True),
        (OK + "x = y.f_back\n", True),
    ],
)
def test_source_pre_read(source: str, to_screen: bool) -> None:
    assert mentions_screened_names(source) is to_screen
    _rules(source)  # and either way the findings are the full walk's


def test_entrypoint_with_defaults_is_fine() -> None:
    assert _rules("def evaluate_model(model, k=5, *, seed=0):\n    return {}\n") == set()


def test_screen_is_fast_on_256_kib() -> None:
    body = "\n\n".join(p.read_text() for p in sorted(BENIGN.glob("*.py")))
    source = body * (256 * 1024 // len(body) + 1)
    tree = parse_script(source[: 256 * 1024].rsplit("\n\ndef ", 1)[0])
    best = min(_timed(tree) for _ in range(3))
    # Linear in nodes (~66k here); the bound catches quadratic regressions on a busy box.
    assert best < 0.5, f"quick_screen took {best * 1000:.1f} ms on 256 KiB"


def _timed(tree: object) -> float:
    started = time.perf_counter()
    quick_screen(tree)  # type: ignore[arg-type]
    return time.perf_counter() - started
