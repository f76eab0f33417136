"""Run every policy checker in one libcst pass over one MetadataWrapper."""

from __future__ import annotations

from typing import Final

import libcst as cst
from libcst.metadata import (
    MetadataWrapper,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from validator.findings import Finding
from validator.policy.config import Policy
from validator.policy.context import Checker, Context, fold_str
from validator.policy.deserialise import DeserialiseChecker
from validator.policy.dunder import DunderChecker
from validator.policy.dynamic import DynamicChecker
from validator.policy.encoded import EncodedChecker
from validator.policy.imports import ImportChecker
from validator.policy.io import FileIOChecker
from validator.policy.names import nfkc
from validator.policy.signature import EntrypointChecker

CHECKERS: Final[tuple[Checker, ...]] = (
    ImportChecker(),
    DynamicChecker(),
    DunderChecker(),
    FileIOChecker(),
    DeserialiseChecker(),
    EncodedChecker(),
    EntrypointChecker(),
)


def run_policy(source: str, policy: Policy | None = None) -> list[Finding]:
    """All policy findings for `source`, before tenant overrides are applied."""
    module = cst.parse_module(source)
    if not source.isascii():
        module = module.visit(_NormaliseIdentifiers())
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    visitor = _PolicyVisitor(CHECKERS, policy or Policy())
    wrapper.visit(visitor)
    if not visitor.ctx.pending:
        return []  # clean scripts skip the position pass, a full extra traversal
    return visitor.ctx.findings(wrapper.resolve(PositionProvider))


class _NormaliseIdentifiers(cst.CSTTransformer):
    """Python NFKC-normalises identifiers, so `ｅｘｅｃ` runs `exec`; analyse what runs."""  # noqa: RUF002

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        value = nfkc(updated_node.value)
        if value == updated_node.value:
            return updated_node
        return updated_node.with_changes(value=value)


def bind_values(
    values: dict[int, cst.BaseExpression], target: cst.BaseExpression, value: cst.BaseExpression
) -> None:
    """Remember `name = value` bindings (and tuple unpacking) so aliases resolve."""
    if isinstance(target, cst.Name):
        values[id(target)] = value
    elif _same_shape(target, value):
        assert isinstance(target, cst.Tuple | cst.List)
        assert isinstance(value, cst.Tuple | cst.List)
        for t, v in zip(target.elements, value.elements, strict=True):
            bind_values(values, t.value, v.value)


def _same_shape(target: cst.BaseExpression, value: cst.BaseExpression) -> bool:
    sequences = cst.Tuple | cst.List
    return (
        isinstance(target, sequences)
        and isinstance(value, sequences)
        and len(target.elements) == len(value.elements)
    )


class _PolicyVisitor(cst.CSTVisitor):
    """One traversal: local hooks run on the way; name resolution runs at the end, once every
    binding (including ones after their use, e.g. module globals used in functions) is known."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider)

    def __init__(self, checkers: tuple[Checker, ...], policy: Policy) -> None:
        super().__init__()
        self._values: dict[int, cst.BaseExpression] = {}
        self.ctx = Context(self, policy, self._values)
        self._checkers = checkers
        self._references: list[cst.Name | cst.Attribute] = []
        self._annotation_depth = 0
        self._calls: list[cst.Call] = []
        # Name nodes that are definitions, keywords or attribute parts, not references.
        self._not_references: set[int] = set()
        # Names being bound: still checked as names (`__builtins__ = ...`), but not resolved.
        self._stores: set[int] = set()

    def leave_Module(self, original_node: cst.Module) -> None:
        for node in self._references:
            self._reference(node)
        for call in self._calls:
            callee = self.ctx.resolve(call.func)
            for checker in self._checkers:
                checker.call(self.ctx, call, callee)
        for checker in self._checkers:
            checker.module_end(self.ctx, original_node)

    def visit_Import(self, node: cst.Import) -> bool:
        for checker in self._checkers:
            checker.import_(self.ctx, node)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        for checker in self._checkers:
            checker.import_from(self.ctx, node)
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._not_references.add(id(node.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._not_references.add(id(node.name))

    def visit_Param(self, node: cst.Param) -> None:
        self._not_references.add(id(node.name))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._not_references.add(id(node.keyword))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._stores.add(id(target.target))
            bind_values(self._values, target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._stores.add(id(node.target))
        if node.value is not None:
            bind_values(self._values, node.target, node.value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._stores.add(id(node.target))
        bind_values(self._values, node.target, node.value)

    def visit_For(self, node: cst.For) -> None:
        self._stores.add(id(node.target))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._stores.add(id(node.target))

    def visit_AsName(self, node: cst.AsName) -> None:
        self._stores.add(id(node.name))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._not_references.add(id(node.attr))
        self.ctx.attribute_bases.add(id(node.value))
        attr = nfkc(node.attr.value)
        for checker in self._checkers:
            checker.attribute(self.ctx, node, attr)
        self._references.append(node)

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self._not_references:
            return
        for checker in self._checkers:
            checker.name(self.ctx, node, node.value)
        if id(node) not in self._stores:
            self._references.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        self.ctx.callees.add(id(node.func))
        self._calls.append(node)
        self._string(node, fold_str(node))  # "".join([...]) and chr(...) build names too

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self._annotation_depth += 1

    def leave_Annotation(self, original_node: cst.Annotation) -> None:
        self._annotation_depth -= 1

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = fold_str(node)
        self._string(node, value)
        if self._annotation_depth and value is not None:
            for checker in self._checkers:
                checker.annotation_string(self.ctx, node, value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self._string(node, node.value)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
        return self._folded(node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> bool:
        return self._folded(node)

    def _folded(self, node: cst.BaseExpression) -> bool:
        value = fold_str(node)
        if value is None:
            return True
        self._string(node, value)
        return False  # every part is a literal already covered by the folded value

    def _string(self, node: cst.CSTNode, value: str | None) -> None:
        if value:
            for checker in self._checkers:
                checker.string(self.ctx, node, value)

    def _reference(self, node: cst.Name | cst.Attribute) -> None:
        names = self.ctx.resolve(node)
        if names:
            for checker in self._checkers:
                checker.reference(self.ctx, node, names)
