"""Synchronous submit-time checks on the stdlib AST: parse, then screen obvious escapes."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from validator.findings import Finding
from validator.policy.config import Policy, apply_policy
from validator.policy.names import (
    CLASS_NAME_ATTRS,
    DENIED_MODULES,
    DYNAMIC_CODE_BUILTINS,
    FRAME_ATTRS,
    INTERACTIVE_BUILTINS,
    NAMESPACE_BUILTINS,
    OBJECT_REFLECTION_ATTRS,
    RESTRICTED_MODULES,
    denied_api,
    is_escape_dunder,
    nfkc,
    restricted_use,
    root_module,
)
from validator.policy.rules import rule
from validator.policy.signature import ENTRYPOINT, binds, signature_problem

_BUILTIN_RULES: dict[str, str] = {
    **{name: "EP201" for name in DYNAMIC_CODE_BUILTINS},
    **{name: "EP203" for name in NAMESPACE_BUILTINS},
    **{name: "EP205" for name in INTERACTIVE_BUILTINS},
    "open": "EP401",
}


class ScriptSyntaxError(Exception):
    """The script cannot be parsed; the API maps this to 400 INVALID_SCRIPT."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column


def parse_script(source: str) -> ast.Module:
    """Parse a script, turning every way the parser can fail into `ScriptSyntaxError`."""
    null = source.find("\x00")
    if null >= 0:
        line = source.count("\n", 0, null) + 1
        column = null - source.rfind("\n", 0, null)
        raise ScriptSyntaxError("source contains a null byte", line, column)
    try:
        return ast.parse(source, filename="<script>")
    except SyntaxError as exc:
        raise ScriptSyntaxError(exc.msg, exc.lineno, exc.offset) from exc
    except (RecursionError, MemoryError) as exc:
        raise ScriptSyntaxError("expression nested too deeply to parse") from exc
    except (UnicodeError, ValueError) as exc:
        raise ScriptSyntaxError(f"source cannot be encoded: {exc}") from exc


def quick_screen(
    tree: ast.Module, policy: Policy | None = None, source: str | None = None
) -> list[Finding]:
    """Obviously forbidden constructs, in a few milliseconds, without recursion.

    Given the `source` the tree was parsed from, the screen first reads it as text: a name
    or attribute can only be flagged if its identifier is written in the source, so when
    none is, only import statements are visited instead of every node."""
    findings = [*_entrypoint_findings(tree)]
    if source is not None and not mentions_screened_names(source):
        for node in _statements(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                findings.extend(_node_findings(node, set()))
        return apply_policy(findings, policy or Policy())
    screened, bound = _screened_and_bound(tree)
    for node in screened:
        findings.extend(_node_findings(node, bound))
    return apply_policy(findings, policy or Policy())


_SCREENED = frozenset({ast.Import, ast.ImportFrom, ast.Attribute, ast.MatchClass})

# (identifier, its pattern, whether a mention after a dot counts). Builtins are flagged only
# as a Name, so `re.compile` is fine; frame attributes anywhere. Each pattern starts with
# its literal, which the regex engine scans for quickly; a lookbehind would defeat that.
_MENTIONS: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    *((name, re.compile(rf"{name}\b"), False)
      for name in sorted(_BUILTIN_RULES) if not is_escape_dunder(name)),
    *((attr, re.compile(rf"{attr}\b"), True) for attr in sorted(FRAME_ATTRS)),
    *((name, re.compile(rf"{name}\b"), False) for name in sorted(RESTRICTED_MODULES)),
)
# A literal prefix keeps this a fast scan; it over-matches (`x__y__`), which only costs time.
_DUNDER_RE = re.compile(r"__\w+__")


def mentions_screened_names(source: str) -> bool:
    """Whether the source may hold a Name or Attribute node the screen flags.

    A sound over-estimate read from the text: such a node's identifier is written in the
    source. A builtin's name counts unless every mention follows a dot (an attribute);
    a dunder counts unless every mention is the module of `from __future__ import`.
    Only ASCII source is read as text: non-ASCII identifiers are normalised (NFKC)."""
    if not source.isascii():
        return True
    for word, pattern, after_dot in _MENTIONS:
        if word in source and _written(pattern, source, after_dot):
            return True
    if "__" not in source:
        return False
    return any(is_escape_dunder(word) and _mentioned_outside_imports(word, source)
               for word in set(_DUNDER_RE.findall(source)))


def _written(pattern: re.Pattern[str], source: str, after_dot: bool) -> bool:
    """Whether the word is written as an identifier of its own (not inside a longer one)."""
    for match in pattern.finditer(source):
        before = source[match.start() - 1] if match.start() else " "
        if before.isalnum() or before == "_":
            continue
        if before != "." or after_dot:
            return True
    return False


def _mentioned_outside_imports(dunder: str, source: str) -> bool:
    # `[ \t]`, not `\s`: across a line break `yield from __x__` + `import y` would match.
    mentions = len(re.findall(rf"\b{dunder}\b", source))
    as_module = len(re.findall(rf"\bfrom[ \t]+{dunder}[ \t]+import\b", source))
    return mentions > as_module


def _statements(tree: ast.Module) -> Iterator[ast.AST]:
    """Every statement, in the order of the full pass; expressions hold no statements,
    so imports are all found without visiting them."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, _BLOCK_ITEMS))


_BLOCK_ITEMS = (ast.stmt, ast.excepthandler, ast.match_case)


def _screened_and_bound(tree: ast.Module) -> tuple[list[ast.AST], set[str]]:
    """One pass over every node, iteratively (no recursion on deep trees): the nodes the
    screen looks at, and the names the script binds itself, so that a user's own `input`
    variable is not the builtin."""
    screened: list[ast.AST] = []
    bound: set[str] = set()
    class_names: set[int] = set()  # `x.__class__` read as `x.__class__.__name__`: a string
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            screened.append(node)
            if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                bound.add(nfkc(node.id))  # type: ignore[attr-defined]
            continue
        if kind is ast.Attribute and _reads_class_name(node):
            class_names.add(id(node.value))  # type: ignore[attr-defined]
        if kind in _SCREENED and id(node) not in class_names:
            screened.append(node)
        elif kind is ast.arg:
            bound.add(nfkc(node.arg))  # type: ignore[attr-defined]
        elif kind in _DEFINITIONS:
            bound.add(nfkc(node.name))  # type: ignore[attr-defined]
        elif kind is ast.alias:
            bound.add(nfkc(node.asname or node.name).split(".")[0])  # type: ignore[attr-defined]
        for field in _child_fields(kind):
            value = getattr(node, field, None)
            if type(value) is list:
                stack.extend([item for item in value if isinstance(item, ast.AST)])
            elif isinstance(value, ast.AST):
                stack.append(value)
    return screened, bound


def _reads_class_name(node: ast.AST) -> bool:
    value = getattr(node, "value", None)
    return (nfkc(getattr(node, "attr", "")) in CLASS_NAME_ATTRS
            and isinstance(getattr(node, "ctx", None), ast.Load)
            and isinstance(value, ast.Attribute) and nfkc(value.attr) == "__class__")


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Fields that never hold a node worth visiting: identifiers, flags, and `ctx` (a Load or
# Store marker on every name, a third of all nodes).
_LEAF_FIELDS = frozenset({"ctx", "id", "attr", "arg", "name", "asname", "module", "kind",
                          "type_comment", "level", "conversion", "is_async", "simple"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = tuple(f for f in getattr(kind, "_fields", ()) if f not in _LEAF_FIELDS)
        _CHILD_FIELDS[kind] = fields
    return fields


def _at(rule_id: str, node: ast.AST, message: str) -> Finding:
    line = getattr(node, "lineno", None)
    column = getattr(node, "col_offset", None)
    return rule(rule_id).finding(message, line, None if column is None else column + 1)


def _node_findings(node: ast.AST, bound: set[str]) -> Iterator[Finding]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield from _module_findings(nfkc(alias.name), node)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        module = nfkc(node.module)
        yield from _module_findings(module, node)
        for alias in node.names:
            qualified = f"{module}.{nfkc(alias.name)}"
            api = denied_api(qualified) or restricted_use(qualified)
            if api:
                yield _at("EP104", node, f"import of denied API `{api}`")
    elif isinstance(node, ast.Name):
        yield from _name_findings(node, bound)
    elif isinstance(node, ast.Attribute):
        yield from _attribute_node_findings(node, bound)
    elif isinstance(node, ast.MatchClass):
        # `case C(attr=p)` reads `subject.attr` like an attribute access does.
        for attr in node.kwd_attrs:
            yield from _attribute_findings(node, nfkc(attr))


def _attribute_node_findings(node: ast.Attribute, bound: set[str]) -> Iterator[Finding]:
    base = node.value
    builtin_object = (isinstance(base, ast.Name) and nfkc(base.id) == "object"
                      and "object" not in bound)
    if not (builtin_object and nfkc(node.attr) in OBJECT_REFLECTION_ATTRS):
        # `object.__setattr__(...)` is setattr; deep analysis checks how it is used.
        yield from _attribute_findings(node, nfkc(node.attr))
    if isinstance(base, ast.Name) and nfkc(base.id) in RESTRICTED_MODULES.keys() & bound:
        # `import sys` then `sys.modules`: only the module's listed values are allowed.
        api = restricted_use(f"{nfkc(base.id)}.{nfkc(node.attr)}")
        if api:
            yield _at("EP104", node, f"use of denied API `{api}`")


def _attribute_findings(node: ast.AST, attr: str) -> Iterator[Finding]:
    if is_escape_dunder(attr):
        yield _at("EP301", node, f"access to `{attr}`")
    elif attr in FRAME_ATTRS:
        yield _at("EP204", node, f"access to frame attribute `{attr}`")


def _module_findings(module: str, node: ast.AST) -> Iterator[Finding]:
    if module in RESTRICTED_MODULES:
        return  # `import sys`: deep analysis allows only its listed values
    if root_module(module) in DENIED_MODULES:
        yield _at("EP102", node, f"import of denied module `{module}`")
    elif denied_api(module):
        yield _at("EP104", node, f"import of denied API `{denied_api(module)}`")


def _name_findings(node: ast.Name, bound: set[str]) -> Iterator[Finding]:
    name = nfkc(node.id)
    if name in _BUILTIN_RULES and name not in bound and isinstance(node.ctx, ast.Load):
        yield _at(_BUILTIN_RULES[name], node, f"use of builtin `{name}`")
    elif is_escape_dunder(name):
        yield _at("EP301", node, f"use of `{name}`")


def _entrypoint_findings(tree: ast.Module) -> Iterator[Finding]:
    defs = [n for n in tree.body if binds(n, ENTRYPOINT)]
    if not defs:
        yield rule("EP010").finding()
        return
    if len(defs) > 1:
        yield _at("EP011", defs[1], f"`{ENTRYPOINT}` is defined more than once")
    entry = defs[0]
    if isinstance(entry, ast.FunctionDef):
        problem = signature_problem(entry.args)
    else:
        problem = "must be a plain `def`, not async or an assignment"
    if problem:
        yield _at("EP011", entry, f"`{ENTRYPOINT}` {problem}")
