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
    MODULE_HANDLE_ATTRS,
    NAMESPACE_BUILTINS,
    OBJECT_REFLECTION,
    OBJECT_SETTERS,
    REFLECTION_QUALNAMES,
    SMUGGLING_ATTRS,
    is_escape_dunder,
)

_BUILTIN_RULES: dict[str, str] = {
    **{f"builtins.{name}": "EP201" for name in DYNAMIC_CODE_BUILTINS},
    **{f"builtins.{name}": "EP203" for name in NAMESPACE_BUILTINS},
    **{f"builtins.{name}": "EP205" for name in INTERACTIVE_BUILTINS},
}
FORMAT_METHODS = frozenset({"format", "format_map"})
# Taken by name (getattr, methodcaller), these format a template chosen at run time.
_FORMAT_NAMES = FORMAT_METHODS | {"vformat"}
# What a template receiver may be built from without being built at run time.
_TEMPLATE_SOURCES = (ast.Name, ast.Attribute, ast.Subscript)
# Expression nodes a forward reference may contain: names, dotted names, subscripts, unions.
_TYPE_EXPR_NODES = (
    ast.Expression, ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Constant,
    ast.BinOp, ast.BitOr, ast.Load,
)
_SETTERS = frozenset({"builtins.setattr", "builtins.delattr", *OBJECT_SETTERS})
_GETTERS = frozenset({"builtins.getattr", "builtins.hasattr"})
_GETATTR_FAMILY = frozenset(
    {"builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.hasattr",
     *OBJECT_REFLECTION}
)


def forbidden_attr_name(name: str) -> bool:
    return any(
        is_escape_dunder(part) or part in FRAME_ATTRS or part.lstrip("_") in SMUGGLING_ATTRS
        or part in MODULE_HANDLE_ATTRS
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

    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        if attr in FRAME_ATTRS:
            ctx.report("EP204", node, f"access to frame attribute `{attr}`")

    def call(self, ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
        if callee & _GETATTR_FAMILY:
            self._getattr(ctx, node)
        if callee & {"operator.attrgetter", "operator.methodcaller"}:
            names = node.args if "operator.attrgetter" in callee else node.args[:1]
            for arg in names:
                name = self._literal_name(ctx, node, arg)
                if name in _FORMAT_NAMES:
                    ctx.report("EP202", node, f"`{name}` taken by name formats a template "
                               "chosen at run time")
        if "builtins.type" in callee:
            self._type(ctx, node)
        receiver = _format_receiver(node)
        if receiver is not None and "builtins.str" in ctx.resolve(receiver):
            # `str.format(template, ...)`: the template is the first argument.
            first = node.args[0] if node.args else None
            if first is None or isinstance(first, ast.Starred):
                ctx.report("EP202", node, "`str.format` without a visible template")
            else:
                _check_template(ctx, node, first)
        elif receiver is not None:
            _check_template(ctx, node, receiver)

    def module_end(self, ctx: Context, module: ast.Module) -> None:
        # `fmt = str.format; fmt("{0." + name + "}", obj)`: a format method that is not
        # called on the spot formats whatever template it is later given.
        for node in ctx.format_methods:
            if not ctx.is_callee(node) and not ctx.is_literal_str(node.value):
                ctx.report("EP202", node, f"format method `.{node.attr}` taken as a value; "
                           "call it on a literal template")
        stored = "name" in ctx.attribute_stores
        for call in ctx.field_getattrs:
            if stored:
                ctx.report("EP202", call, "attribute name is computed at runtime (`.name` is "
                           "assigned somewhere in the script)")

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
        if _dataclass_field_name(ctx, args[1]):
            ctx.field_getattrs.append(node)  # decided in module_end, once all stores are known
            return
        if _own_keyword_setattr(ctx, node) or _forwarded_lookup(ctx, node):
            return
        for name in self._literal_names(ctx, node, args[1]):
            if name in _FORMAT_NAMES and not ctx.is_literal_str(args[0]):
                ctx.report("EP202", node, f"`{name}` fetched by name formats a template "
                           "chosen at run time")
            if name == "__match_args__" and ctx.resolve(node.func) & _SETTERS:
                ctx.report("EP202", node, "`__match_args__` changed at run time")
            for base in ctx.resolve(args[0]):
                check_module_path(ctx, node, f"{base}.{name}")

    def _type(self, ctx: Context, node: ast.Call) -> None:
        if len(node.args) + len(node.keywords) == 3:
            ctx.report("EP206", node, "three-argument `type()` builds a class at runtime")
        elif node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            ctx.report("EP206", node, "`type()` with unpacked arguments may build a class")

    def _literal_names(self, ctx: Context, node: ast.Call, arg: ast.expr) -> frozenset[str]:
        """The names a reflective call's name argument may be: literals, or a name drawn
        from a literal collection (`for name in ("accuracy", "f1")`); none is a dunder or
        frame attribute. Anything else is EP202 (and no names)."""
        names = None if isinstance(arg, ast.Starred) else ctx.literal_names(arg)
        if names is None:
            ctx.report("EP202", node, "attribute name is computed at runtime")
            return frozenset()
        bad = sorted(name for name in names if forbidden_attr_name(name))
        if bad:
            ctx.report("EP202", node, f"reflective access to `{bad[0]}`")
            return frozenset()
        return names

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
    if isinstance(func, ast.Attribute) and func.attr in FORMAT_METHODS:
        return func.value
    return None


def _check_template(ctx: Context, call: ast.Call, receiver: ast.expr) -> None:
    """`template.format(...)` traverses the attributes its fields name (`{0.__globals__}`),
    so the template must not be built at run time. Literal templates (and names, lookups in
    containers, and attributes that only ever hold literal or unknown values) are not
    built here; an unknown one is a warning, and the runtime guard denies what an attribute
    walk could reach (frames, code, processes, files)."""
    if _known_template(ctx, receiver):
        return
    if not isinstance(receiver, _TEMPLATE_SOURCES) or _built_at_runtime(ctx, receiver):
        # "{0.__globals__}" built at runtime would traverse attributes unseen.
        ctx.report("EP202", call, "format string is not a literal (it is built at run time)")
        return
    ctx.report("EP207", call, "format template the analysis cannot see; attribute walks in "
               "it are left to the runtime guard")


def _known_template(ctx: Context, receiver: ast.expr) -> bool:
    """A literal, a literal-container lookup, or a name bound only to those
    (`template = TEMPLATES[kind]`)."""
    if ctx.is_literal_str(receiver) or _literal_lookup(ctx, receiver):
        return True
    if not isinstance(receiver, ast.Name):
        return False
    values = ctx.binding_values(receiver)
    return bool(values) and all(
        isinstance(v, ast.expr) and (ctx.literal_str(v) is not None or _literal_lookup(ctx, v))
        for v in values or ()
    )


def _built(ctx: Context, value: ast.expr | str | None) -> bool:
    return (isinstance(value, ast.BinOp | ast.JoinedStr | ast.Call | ast.BoolOp | ast.IfExp)
            and ctx.literal_str(value) is None)


def _built_at_runtime(ctx: Context, receiver: ast.expr) -> bool:
    """Whether the receiver may hold a string the script builds: a name bound to, or an
    attribute name ever assigned, a concatenation, f-string or call result."""
    if isinstance(receiver, ast.Name):
        return any(_built(ctx, value) for value in ctx.binding_values(receiver) or [None])
    if isinstance(receiver, ast.Attribute):
        return any(_built(ctx, value) for value in ctx.attribute_stores.get(receiver.attr, []))
    if isinstance(receiver, ast.Subscript) and isinstance(receiver.value, ast.Name):
        items = list(ctx.item_values.get(receiver.value.id, []))
        for value in ctx.binding_values(receiver.value) or []:
            if isinstance(value, ast.Dict):
                items.extend(value.values)
            elif isinstance(value, ast.List | ast.Tuple):
                items.extend(value.elts)
        return any(_built(ctx, item) for item in items)
    return False


def _literal_lookup(ctx: Context, receiver: ast.expr) -> bool:
    """`TEMPLATES[kind]` where TEMPLATES is only ever a literal dict/list/tuple of literal
    strings and no item of it is assigned."""
    if not isinstance(receiver, ast.Subscript) or not isinstance(receiver.value, ast.Name):
        return False
    values = ctx.binding_values(receiver.value)
    if not values or receiver.value.id in ctx.subscript_stores:
        return False
    for value in values:
        if isinstance(value, ast.Dict):
            items = value.values
            if any(key is None for key in value.keys):
                return False
        elif isinstance(value, ast.List | ast.Tuple):
            items = value.elts
        else:
            return False
        if not all(ctx.literal_str(item) is not None for item in items):
            return False
    return True


def _own_keyword_setattr(ctx: Context, call: ast.Call) -> bool:
    """`setattr(self, key, value)` in a method, where `self` is the method's first parameter
    and `key` only ever takes the keys of the method's own `**kwargs` (`for key, value in
    kwargs.items()`, `for key in kwargs`): a keyword-driven config object. The names are
    the caller's keywords; writing them on the instance reads nothing (reads stay checked
    wherever they happen), and the guard denies writing `__code__` near the script."""
    if "builtins.setattr" not in ctx.resolve(call.func) or len(call.args) != 3:
        return False
    target, key = call.args[0], call.args[1]
    if not isinstance(target, ast.Name) or not isinstance(key, ast.Name):
        return False
    found = ctx.method_parameters(target)
    if found is None:
        return False
    block, method = found
    kwargs = method.kwarg
    if method.positional[:1] != (target.id,) or kwargs is None:
        return False
    mappings = ctx.key_loop_mappings(key)
    if not mappings:
        return False
    for mapping in mappings:
        if (not isinstance(mapping, ast.Name) or mapping.id != kwargs
                or kwargs in ctx.subscript_stores):
            return False
        owner = ctx.method_parameters(mapping)
        if owner is None or owner[0] is not block:
            return False
    return True


def _forwarded_lookup(ctx: Context, call: ast.Call) -> bool:
    """`getattr(self._inner, name)` in `def __getattr__(self, name)`: a wrapper forwarding
    the lookups made on it. Those are attribute reads written in the script (each meets
    the attribute rules where it is written) or made by the runtime (a format walk's, which
    the template rules and the guard cover), so the forwarded name is one already checked."""
    if not callee_in(ctx, call, _GETTERS):
        return False
    name = call.args[1]
    if not isinstance(name, ast.Name):
        return False
    found = ctx.method_parameters(name)
    if found is None:
        return False
    method = found[1]
    return method.name == "__getattr__" and method.positional[1:2] == (name.id,)


def callee_in(ctx: Context, call: ast.Call, names: frozenset[str]) -> bool:
    callee = ctx.resolve(call.func)
    return bool(callee) and callee <= names


def _dataclass_field_name(ctx: Context, arg: ast.expr) -> bool:
    """`f.name` where `f` only ever iterates `dataclasses.fields(...)`: a field name, which a
    class body declares as a plain identifier (checked by the name rules)."""
    if not (isinstance(arg, ast.Attribute) and arg.attr == "name"
            and isinstance(arg.value, ast.Name)):
        return False
    loops = ctx.only_loop_bound(arg.value)
    return bool(loops) and all(
        isinstance(it, ast.Call) and "dataclasses.fields" in ctx.resolve(it.func)
        for it in loops or ()
    )
