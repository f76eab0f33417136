"""Every hint the server can send, as the CLI prints it, names a command, never an HTTP route.

The hints are read from the source (each `default_hint = …` and each `hint=…` keyword with
a literal text), so a hint added later is checked too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from evalpod.cli.hints import for_cli
from evalpod.cli.output import describe
from evalpod.sdk.errors import ApiError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["api", "evalpod", "validator", "orchestrator", "monitor"]
HTTP_ONLY = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE) /|/api/docs|Authorization:|"
                       r"Retry-After|idempotency_key|\bin detail\b|detail\.")


def _text(node: ast.expr) -> str | None:
    """A literal string (concatenated or an f-string's literal parts), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str)
                       else "{x}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None or right is None else left + right
    return None


def _server_hints() -> list[tuple[str, str]]:
    hints = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "cli" in path.parts or "sdk" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                values: list[ast.expr] = []
                if isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(isinstance(t, ast.Name) and t.id == "default_hint" for t in targets) \
                            and node.value is not None:
                        values.append(node.value)
                elif isinstance(node, ast.Call):
                    values += [k.value for k in node.keywords if k.arg == "hint"]
                for value in values:
                    text = _text(value)
                    if text:
                        hints.append((f"{path.relative_to(ROOT)}:{value.lineno}", text))
    return hints


HINTS = _server_hints()


def test_the_source_has_route_hints_to_translate() -> None:
    # The check below means something only while the server's hints speak HTTP.
    assert len(HINTS) > 20
    assert any(HTTP_ONLY.search(text) for _, text in HINTS)


@pytest.mark.parametrize(("where", "hint"), HINTS, ids=[w for w, _ in HINTS])
def test_no_hint_names_an_http_route_in_the_cli(where: str, hint: str) -> None:
    shown = for_cli(hint)
    assert not HTTP_ONLY.search(shown), (where, shown)


@pytest.mark.parametrize(("hint", "command"), [
    ("List the registered models with GET /api/v1/models.", "`evalpod models list`"),
    ("Check the evaluation id; list yours with GET /api/v1/evaluations.", "`evalpod list`"),
    ("List the datasets you can use with GET /api/v1/datasets; name ready versions as "
     "name@version.", "`evalpod datasets list`"),
    ("List benchmarks with GET /api/v1/benchmarks; name one as name or name@version.",
     "`evalpod benchmarks list`"),
    ("List installed tasks with GET /api/v1/lm-eval/tasks.", "`evalpod lm-eval tasks`"),
    ("Check the model's current stage with GET /api/v1/models/{id}.", "`evalpod models show ID`"),
    ("Use a new idempotency_key for a different request body.", "--idempotency-key"),
    ("Send 'Authorization: Bearer <api key>'; create one with `evalpod keys create`.",
     "EVALPOD_API_KEY"),
    ("Try GET /api/v1/something/new first.", "`evalpod --help`"),
])
def test_a_route_becomes_the_command_that_does_it(hint: str, command: str) -> None:
    assert command in for_cli(hint)


def test_describe_prints_the_cli_hint() -> None:
    error = ApiError(400, "model 'nope' is not registered", code="MODEL_NOT_FOUND",
                     hint="List the registered models with GET /api/v1/models.")
    line = describe(error)
    assert line.endswith("[MODEL_NOT_FOUND]; hint: List the registered models with "
                         "`evalpod models list`.")
