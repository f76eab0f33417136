"""What every policy checker sees: alias resolution, literal folding, positions, reporting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import libcst as cst
from libcst.metadata import (
    Assignment,
    CodeRange,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)
from libcst.metadata.base_provider import ProviderT

from validator.findings import Finding
from validator.policy.config import Policy
from validator.policy.names import nfkc
from validator.policy.rules import rule

_TRUSTED_SOURCES = (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN)
_MAX_ALIAS_DEPTH = 8
_MAX_REPEAT = 4096


class MetadataSource(Protocol):
    def get_metadata(self, key: ProviderT, node: cst.CSTNode, default: object = ...) -> object:
        ...


class Context:
    """Shared state of one policy pass over one module."""

    def __init__(
        self,
        metadata: MetadataSource,
        policy: Policy,
        values: dict[int, cst.BaseExpression],
    ) -> None:
        self._metadata = metadata
        self.policy = policy
        # id(target Name) -> the expression assigned to it, for alias resolution.
        self._values = values
        self._resolved: dict[int, frozenset[str]] = {}
        self.callees: set[int] = set()
        self.attribute_bases: set[int] = set()
        self.imported_modules: set[str] = set()
        self.pending: list[tuple[str, cst.CSTNode | None, str]] = []

    def report(self, rule_id: str, node: cst.CSTNode | None, message: str) -> None:
        """Record a finding; positions are computed once at the end, only if anything is found."""
        self.pending.append((rule_id, node, message))

    def findings(self, positions: Mapping[cst.CSTNode, CodeRange]) -> list[Finding]:
        unique: dict[tuple[str, int | None, int | None], Finding] = {}
        for rule_id, node, message in self.pending:
            code_range = positions.get(node) if node is not None else None
            line = code_range.start.line if code_range else None
            column = code_range.start.column + 1 if code_range else None
            unique.setdefault((rule_id, line, column), rule(rule_id).finding(message, line, column))
        return sorted(unique.values(), key=lambda f: (f.line or 0, f.column or 0, f.rule))

    def is_callee(self, node: cst.CSTNode) -> bool:
        return id(node) in self.callees

    def is_literal_str(self, expr: cst.BaseExpression) -> bool:
        """A literal string, or a name every binding of which is a literal string."""
        if fold_str(expr) is not None:
            return True
        if not isinstance(expr, cst.Name):
            return False
        scope = self._metadata.get_metadata(ScopeProvider, expr, None)
        if scope is None:
            return False
        bindings = list(scope[expr.value])  # type: ignore[index]
        return bool(bindings) and all(
            isinstance(b, Assignment)
            and id(b.node) in self._values
            and fold_str(self._values[id(b.node)]) is not None
            for b in bindings
        )

    def resolve(self, expr: cst.BaseExpression) -> frozenset[str]:
        """Fully qualified names `expr` may refer to, through imports and plain assignments."""
        return self._resolve(expr, 0, frozenset())

    def _resolve(
        self, expr: cst.BaseExpression, depth: int, seen: frozenset[int]
    ) -> frozenset[str]:
        key = id(expr)
        cached = self._resolved.get(key)
        if cached is not None:
            return cached
        if depth > _MAX_ALIAS_DEPTH or key in seen:
            return frozenset()
        seen = seen | {key}
        if isinstance(expr, cst.Name):
            result = self._resolve_name(expr, depth, seen)
        elif isinstance(expr, cst.Attribute):
            attr = nfkc(expr.attr.value)
            base = self._resolve(expr.value, depth + 1, seen)
            result = frozenset(f"{name}.{attr}" for name in base)
        elif isinstance(expr, cst.NamedExpr):
            result = self._resolve(expr.value, depth + 1, seen)
        else:
            result = frozenset()
        self._resolved[key] = result
        return result

    def _resolve_name(self, node: cst.Name, depth: int, seen: frozenset[int]) -> frozenset[str]:
        qualified = self._metadata.get_metadata(QualifiedNameProvider, node, set())
        names = {
            nfkc(q.name)
            for q in qualified  # type: ignore[attr-defined]
            if q.source in _TRUSTED_SOURCES
        }
        scope = self._metadata.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return frozenset(names)
        for assignment in scope[node.value]:  # type: ignore[index]
            if isinstance(assignment, Assignment):
                value = self._values.get(id(assignment.node))
                if value is not None:
                    names |= self._resolve(value, depth + 1, seen)
        return frozenset(names)


def fold_str(expr: cst.BaseExpression) -> str | None:
    """The value of a string built only from literals (`"__gl" + "obals__"`), else None."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else value.decode("latin-1")
    if isinstance(expr, cst.ConcatenatedString):
        left, right = fold_str(expr.left), fold_str(expr.right)
        return None if left is None or right is None else left + right
    if isinstance(expr, cst.BinaryOperation):
        return _fold_binary(expr)
    if isinstance(expr, cst.Call):
        return _fold_call(expr)
    return None


def _fold_binary(expr: cst.BinaryOperation) -> str | None:
    # The right operand is a leaf in left-nested chains: look at it first so that long
    # arithmetic chains fail in O(1) per node instead of re-walking the left spine.
    if isinstance(expr.operator, cst.Add):
        right = fold_str(expr.right)
        left = None if right is None else fold_str(expr.left)
        return None if left is None or right is None else left + right
    if isinstance(expr.operator, cst.Multiply) and isinstance(expr.right, cst.Integer):
        count = int(expr.right.evaluated_value)
        left = None if count > _MAX_REPEAT else fold_str(expr.left)
        return None if left is None else left * count
    return None


def _fold_call(expr: cst.Call) -> str | None:
    func = expr.func
    if isinstance(func, cst.Name) and func.value == "chr" and len(expr.args) == 1:
        arg = expr.args[0].value
        if isinstance(arg, cst.Integer) and int(arg.evaluated_value) < 0x110000:
            return chr(int(arg.evaluated_value))
        return None
    if isinstance(func, cst.Attribute) and func.attr.value == "join" and len(expr.args) == 1:
        sep = fold_str(func.value)
        items = expr.args[0].value
        if sep is None or not isinstance(items, cst.List | cst.Tuple):
            return None
        parts = [fold_str(el.value) for el in items.elements]
        return None if any(p is None for p in parts) else sep.join(p or "" for p in parts)
    return None


def dotted(expr: cst.BaseExpression) -> str:
    """`a.b.c` for a Name/Attribute chain (import targets), NFKC-normalised."""
    if isinstance(expr, cst.Name):
        return nfkc(expr.value)
    if isinstance(expr, cst.Attribute):
        return f"{dotted(expr.value)}.{nfkc(expr.attr.value)}"
    return ""


class Checker:
    """One concern's hooks; the engine calls them during its single pass."""

    def import_(self, ctx: Context, node: cst.Import) -> None:
        """An `import` statement."""

    def import_from(self, ctx: Context, node: cst.ImportFrom) -> None:
        """A `from ... import` statement."""

    def reference(self, ctx: Context, node: cst.BaseExpression, names: frozenset[str]) -> None:
        """A Name or Attribute that resolves to the qualified `names`."""

    def name(self, ctx: Context, node: cst.Name, name: str) -> None:
        """A bare Name used as an expression (not a definition or an attribute part)."""

    def attribute(self, ctx: Context, node: cst.Attribute, attr: str) -> None:
        """An attribute access `x.attr`."""

    def call(self, ctx: Context, node: cst.Call, callee: frozenset[str]) -> None:
        """A call whose function resolves to `callee`."""

    def string(self, ctx: Context, node: cst.CSTNode, value: str) -> None:
        """A literal string or a string folded from literals."""

    def annotation_string(self, ctx: Context, node: cst.CSTNode, value: str) -> None:
        """A string literal inside an annotation (a forward reference)."""

    def module_end(self, ctx: Context, module: cst.Module) -> None:
        """After the whole module has been visited."""
