"""Dynamic code and reflection: eval/exec, namespaces, getattr with computed names, frames."""

from __future__ import annotations

import ast

from validator.policy.context import Checker, Context
from validator.policy.imports import check_module_path
from validator.policy.names import (
    DYNAMIC_CODE_BUILTINS,
    EVALUATING_APIS,
    FRAME_ATTRS,
    INTERACTIVE_BUILTINS,
    NAMESPACE_BUILTINS,
    REFLECTION_QUALNAMES,
    SMUGGLING_ATTRS,
    is_escape_dunder,
)

_BUILTIN_RULES: dict[str, str] = {
    **{f"builtins.{name}": "EP201" for name in DYNAMIC_CODE_BUILTINS},
    **{f"builtins.{name}": "EP203" for name in NAMESPACE_BUILTINS},
    **{f"builtins.{name}": "EP205" for name in INTERACTIVE_BUILTINS},
}
_FORMAT_METHODS = frozenset({"format", "format_map"})
# Expression nodes a forward reference may contain: names, dotted names, subscripts, unions.
_TYPE_EXPR_NODES = (
    ast.Expression, ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Constant,
    ast.BinOp, ast.BitOr, ast.Load,
)
_GETATTR_FAMILY = frozenset(
    {"builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.hasattr"}
)


def forbidden_attr_name(name: str) -> bool:
    return any(
        is_escape_dunder(part) or part in FRAME_ATTRS or part.lstrip("_") in SMUGGLING_ATTRS
        for part in name.split(".")
    )


class DynamicChecker(Checker):
    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        for name in names:
            rule_id = _BUILTIN_RULES.get(name)
            if rule_id:
                ctx.report(rule_id, node, f"use of `{name.removeprefix('builtins.')}`")
            elif name in EVALUATING_APIS:
                ctx.report("EP201", node, f"`{name}` evaluates strings as code")
            elif name == "string.Formatter":
                ctx.report("EP202", node, "`string.Formatter` traverses attributes at runtime")
            elif name in REFLECTION_QUALNAMES and not ctx.is_callee(node):
                # Only direct calls can have their name argument checked.
                ctx.report("EP202", node, f"`{name}` used as a value, not called directly")

    def attribute(self, ctx: Context, node: ast.Attribute, attr: str) -> None:
        if attr in FRAME_ATTRS:
            ctx.report("EP204", node, f"access to frame attribute `{attr}`")

    def call(self, ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
        if callee & _GETATTR_FAMILY:
            self._getattr(ctx, node)
        if callee & {"operator.attrgetter", "operator.methodcaller"}:
            names = node.args if "operator.attrgetter" in callee else node.args[:1]
            for arg in names:
                self._literal_name(ctx, node, arg)
        if "builtins.type" in callee:
            self._type(ctx, node)
        receiver = _format_receiver(node)
        if receiver is not None and not ctx.is_literal_str(receiver):
            # "{0.__globals__}" built at runtime would traverse attributes unseen.
            ctx.report("EP202", node, "format string is not a literal")

    def annotation_string(self, ctx: Context, node: ast.expr, value: str) -> None:
        # typing.get_type_hints / functools.singledispatch evaluate forward references.
        try:
            tree = ast.parse(value.strip(), mode="eval")
        except (SyntaxError, ValueError):
            return  # cannot be evaluated either (e.g. Literal["two words"])
        except (RecursionError, MemoryError):
            tree = None
        if tree is None or not all(isinstance(n, _TYPE_EXPR_NODES) for n in ast.walk(tree)):
            ctx.report("EP201", node, "string annotation is not a plain type expression")

    def _getattr(self, ctx: Context, node: ast.Call) -> None:
        args = node.args
        if len(args) < 2 or isinstance(args[0], ast.Starred) or isinstance(args[1], ast.Starred):
            ctx.report("EP202", node, "reflective call without a literal attribute name")
            return
        name = self._literal_name(ctx, node, args[1])
        if name is None:
            return
        for base in ctx.resolve(args[0]):
            check_module_path(ctx, node, f"{base}.{name}")

    def _type(self, ctx: Context, node: ast.Call) -> None:
        if len(node.args) + len(node.keywords) == 3:
            ctx.report("EP206", node, "three-argument `type()` builds a class at runtime")
        elif node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            ctx.report("EP206", node, "`type()` with unpacked arguments may build a class")

    def _literal_name(self, ctx: Context, node: ast.Call, arg: ast.expr) -> str | None:
        name = None if isinstance(arg, ast.Starred) else ctx.literal_str(arg)
        if name is None:
            ctx.report("EP202", node, "attribute name is computed at runtime")
        elif forbidden_attr_name(name):
            ctx.report("EP202", node, f"reflective access to `{name}`")
            return None
        return name


def _format_receiver(node: ast.Call) -> ast.expr | None:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in _FORMAT_METHODS:
        return func.value
    return None
