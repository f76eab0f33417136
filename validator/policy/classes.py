"""The class of an object the script did not make: `type(x)` as a constructor.

`type(sys.stderr.buffer.raw)` is `io.FileIO`, `open` under another name; the class of any
library object is a way around the rules that judge names (EP401 `open`, EP104). So the
class a one-argument `type()` returns may only be compared, named or passed to
`isinstance`, unless the object is one the script made: `self`/`cls` in a method, an
instance of a script class, or a literal.
"""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context
from validator.policy.names import CLASS_NAME_ATTRS

_TYPE: Final = "builtins.type"
# Builtins that only look at a class: compare, name or print it.
_CLASS_READERS: Final = frozenset(
    f"builtins.{name}" for name in ("isinstance", "issubclass", "print", "repr", "str", "id",
                                    "hash")
)
_LITERALS: Final = (
    ast.Constant, ast.JoinedStr, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp,
    ast.SetComp, ast.DictComp,
)


class ForeignClassChecker(Checker):
    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        if _TYPE in names and not ctx.is_callee(node) and id(node) not in ctx.annotation_nodes:
            ctx.type_values.append(node)

    def call(self, ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
        if _TYPE in callee and len(node.args) == 1 and not node.keywords:
            arg = node.args[0]
            if not isinstance(arg, ast.Starred) and not _made_by_script(ctx, arg):
                ctx.type_calls.append(node)

    def module_end(self, ctx: Context, module: ast.Module) -> None:
        if not ctx.type_calls and not ctx.type_values:
            return
        parents = _parents(module)
        for call in ctx.type_calls:
            if _reraised_as_own_type(call, parents):
                continue
            if not _only_read(ctx, call, parents.get(id(call))) and not _name_only_read(
                    ctx, call, parents):
                ctx.report("EP208", call, "`type()` of an object the script did not make, "
                           "used other than to compare or name it (the class of a library "
                           "object can open files or run code)")
        for node in ctx.type_values:
            parent = parents.get(id(node))
            if isinstance(node, ast.expr) and id(node) in ctx.class_bases:
                continue  # `class Meta(type)`: a metaclass, judged by the other rules
            if not _only_read(ctx, node, parent):
                ctx.report("EP208", node, "`type` used as a value: whoever calls it gets "
                           "the class of an object the analysis cannot see")


def _reraised_as_own_type(call: ast.Call, parents: dict[int, ast.AST]) -> bool:
    """`raise type(e)(msg) from e` inside `except ... as e` (e never rebound there): the
    class of something raised is an exception class, built only to be raised again."""
    if len(call.args) != 1 or call.keywords or not isinstance(call.args[0], ast.Name):
        return False
    name = call.args[0].id
    built = parents.get(id(call))
    if not (isinstance(built, ast.Call) and built.func is call):
        return False
    raised = parents.get(id(built))
    if not (isinstance(raised, ast.Raise) and raised.exc is built):
        return False
    node: ast.AST | None = raised
    while node is not None and not isinstance(node, ast.ExceptHandler):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            return False
        node = parents.get(id(node))
    if not isinstance(node, ast.ExceptHandler) or node.name != name:
        return False
    return not any(
        isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
        for n in ast.walk(node) if n is not node
    )


def _made_by_script(ctx: Context, arg: ast.expr) -> bool:
    if isinstance(arg, _LITERALS):
        return True
    if isinstance(arg, ast.Call):
        return _script_class_call(ctx, arg)
    if not isinstance(arg, ast.Name):
        return False
    found = ctx.method_parameters(arg)
    if found is not None:
        _, method = found
        return bool(method.positional) and method.positional[0] == arg.id  # self / cls
    values = ctx.binding_values(arg)
    return bool(values) and all(
        isinstance(v, _LITERALS) or (isinstance(v, ast.Call) and _script_class_call(ctx, v))
        for v in values or ()
    )


def _script_class_call(ctx: Context, call: ast.Call) -> bool:
    """`Metric(...)` where every binding of `Metric` is a script `class`."""
    func = call.func
    if not isinstance(func, ast.Name):
        return False
    found = ctx.name_site(func)
    classes = ctx.class_named(func)
    if found is None or not classes:
        return False
    owner, key = found
    return len(classes) == len(owner.bindings.get(key, []))


def _only_read(ctx: Context, node: ast.expr, parent: ast.AST | None) -> bool:
    """The class is compared, named (`.__name__`), formatted or handed to a reader."""
    if isinstance(parent, ast.Compare | ast.FormattedValue):
        return True
    if isinstance(parent, ast.Attribute):
        return parent.attr in CLASS_NAME_ATTRS and isinstance(parent.ctx, ast.Load)
    if isinstance(parent, ast.Tuple):  # `isinstance(x, (type(a), int))`, `t in (type(a),)`
        return False
    if isinstance(parent, ast.Call) and node in parent.args:
        func = parent.func  # the builtin itself: no binding of the script can stand in for it
        return (isinstance(func, ast.Name) and func.id not in ctx.names_bound_anywhere
                and bool(ctx.resolve(func) & _CLASS_READERS))
    return False


def _name_only_read(ctx: Context, call: ast.Call, parents: dict[int, ast.AST]) -> bool:
    """`t = type(x)` where every use that may see this binding only reads the class."""
    statement = parents.get(id(call))
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign):
        target = statement.target
    else:
        return False
    if not isinstance(target, ast.Name):
        return False
    uses = [use for use in ctx.loaded_names()
            if use.id == target.id and any(v is call for v in ctx.binding_values(use) or ())]
    return all(_only_read(ctx, use, parents.get(id(use))) for use in uses)


def _parents(module: ast.Module) -> dict[int, ast.AST]:
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(module):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    return parents
