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
    is_dunder,
    is_escape_dunder,
)
from validator.policy.reach import reaches, sink_closure
from validator.policy.scopes import Scope

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
_KEYWORD_REFLECTION = frozenset({"builtins.setattr", "builtins.getattr", "builtins.hasattr"})
# `dataclasses` names that hand out Field objects or make fields from runtime names.
_FIELD_SOURCES = frozenset(
    {"dataclasses", "dataclasses.fields", "dataclasses.field", "dataclasses.Field",
     "dataclasses.make_dataclass"}
)
# update_wrapper/wraps copy the attributes these parameters name: (position, keyword).
_WRAPPER_NAME_PARAMETERS: dict[str, tuple[tuple[int, str], ...]] = {
    "functools.update_wrapper": ((2, "assigned"), (3, "updated")),
    "functools.wraps": ((1, "assigned"), (2, "updated")),
}
_WRAPPER_DEFAULTS = frozenset({"functools.WRAPPER_ASSIGNMENTS", "functools.WRAPPER_UPDATES"})
# The names those defaults hold (3.11-3.13): what `functools.wraps(f)` copies anyway.
_WRAPPER_DEFAULT_NAMES = frozenset(
    {"__module__", "__name__", "__qualname__", "__doc__", "__dict__", "__annotations__",
     "__type_params__"}
)
# Script hooks that run while a class is created, before its decorators.
_CLASS_CREATION_HOOKS = frozenset({"__init_subclass__", "__set_name__"})
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
            elif ((name in REFLECTION_QUALNAMES or name in _WRAPPER_NAME_PARAMETERS)
                  and not ctx.is_callee(node)):
                # Only direct calls can have their name argument checked.
                ctx.report("EP202", node, f"`{name}` used as a value, not called directly")
        if names & _FIELD_SOURCES:
            ctx.dataclass_refs.append((node, names))

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
                if name is not None:
                    ctx.attribute_by_name(node, name)
                if name in _FORMAT_NAMES:
                    ctx.report("EP202", node, f"`{name}` taken by name formats a template "
                               "chosen at run time")
        if "builtins.type" in callee:
            self._type(ctx, node)
        for name in callee & _WRAPPER_NAME_PARAMETERS.keys():
            _wrapper_names(ctx, node, name)
        _note_field_call(ctx, node, callee)
        _check_keywords(ctx, node, callee)
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
        if ctx.field_getattrs:
            reason = _fields_renamable(ctx, module)
            for call in ctx.field_getattrs if reason else ():
                ctx.report("EP202", call, "attribute name is computed at runtime (a Field's "
                           f"`.name` may be changed: {reason})")
            # A field name is an attribute name the getattr reads: each meets the rules.
            for call in ctx.field_getattrs if not reason else ():
                for name in _class_field_names(module):
                    ctx.attribute_by_name(call, name)
        _keyword_sinks(ctx)

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
        sink = _own_keyword_setattr(ctx, node)
        if sink is not None:
            ctx.keyword_setattrs.append(node)  # its callers' keywords are checked in module_end
            ctx.keyword_sinks.append((node, sink))
            return
        if _forwarded_lookup(ctx, node):
            return
        for name in self._literal_names(ctx, node, args[1]):
            ctx.attribute_by_name(node, name)
            if name in _FORMAT_NAMES and not ctx.is_literal_str(args[0]):
                ctx.report("EP202", node, f"`{name}` fetched by name formats a template "
                           "chosen at run time")
            if name == "__match_args__" and ctx.resolve(node.func) & _SETTERS:
                ctx.report("EP202", node, "`__match_args__` changed at run time")
            elif is_dunder(name) and ctx.resolve(node.func) & _SETTERS:
                # `setattr(Box, "__new__", f)`: as `Box.__new__ = f` (EP301), a class
                # changed outside its body, so `Box()` may return any object.
                ctx.report("EP301", node, f"`{name}` set or deleted by a reflective call")
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


def _own_keyword_setattr(ctx: Context, call: ast.Call) -> Scope | None:
    """`setattr(self, key, value)` (or `getattr`/`hasattr(self, key)`) in a method, where
    `self` is the method's first parameter and `key` only ever takes the keys of the
    method's own `**kwargs` (`for key, value in kwargs.items()`, `for key in kwargs`): a
    keyword-driven config object. The names are the callers' keywords, so module_end
    refuses (EP202) every call in the script whose keywords the analysis cannot read as
    allowed names: a `**mapping` other than a literal dict of allowed names or a function's
    own `**kwargs` passed on, or a keyword that is a dunder or frame name. What such a call
    can do to any object (an unbound `Settings.__init__(other, x=1)` included) is then what
    `other.x = 1` written out does. Returns the method's block, or None."""
    if not callee_in(ctx, call, _KEYWORD_REFLECTION) or not 2 <= len(call.args) <= 3:
        return None
    target, key = call.args[0], call.args[1]
    if not isinstance(target, ast.Name) or not isinstance(key, ast.Name):
        return None
    found = ctx.method_parameters(target)
    if found is None:
        return None
    block, method = found
    kwargs = method.kwarg
    if method.positional[:1] != (target.id,) or kwargs is None:
        return None
    mappings = ctx.key_loop_mappings(key)
    if not mappings:
        return None
    for mapping in mappings:
        if (not isinstance(mapping, ast.Name) or mapping.id != kwargs
                or kwargs in ctx.subscript_stores):
            return None
        owner = ctx.method_parameters(mapping)
        if owner is None or owner[0] is not block:
            return None
    return block


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


def _check_keywords(ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
    """Keywords that become attribute names: noted for keyword-driven setattrs (module_end),
    refused at once for `dataclasses.replace` and explicit `X.__init__(...)` calls."""
    problems = keyword_problems(ctx, node)
    ctx.unseen_keywords.extend((node, problem) for problem in problems)
    if "dataclasses.replace" in callee:
        # `replace(obj, **changes)` sets the attributes its keywords name.
        for problem in problems:
            ctx.report("EP202", node, f"`dataclasses.replace` with {problem}")
    elif problems and _explicit_init(node):
        # `Config.__init__(other, **{built: C})`: many `__init__`s (the script's, and
        # libraries' config classes) set an attribute per keyword, here on any object.
        ctx.report("EP202", node, f"`__init__` called explicitly with {problems[0]}")


def _explicit_init(call: ast.Call) -> bool:
    """`X.__init__(...)` other than `super().__init__(...)`."""
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "__init__"
            and not (isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name)
                     and func.value.func.id == "super"))


def _note_field_call(ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
    """What `_fields_renamable` needs of a call: `fields()`/`field()` calls, and setters
    that may write `.name`."""
    for name in callee & {"dataclasses.fields", "dataclasses.field"}:
        ctx.field_calls.append((node, name))
    if (callee & _SETTERS and len(node.args) >= 2
            and not _dataclass_field_name(ctx, node.args[1])):
        # (A field name set on the instance: Field objects are never passed on.)
        names = (None if isinstance(node.args[1], ast.Starred)
                 else ctx.literal_names(node.args[1]))
        if names is None or "name" in names:
            ctx.field_renamers.append(f"line {node.lineno} may set `.name` on any object")


def keyword_problems(ctx: Context, call: ast.Call) -> list[str]:
    """The keywords of `call` that, taken as attribute names, are not seen to be allowed:
    a dunder or frame keyword, or a `**mapping` other than a literal dict of allowed names
    or a function's own `**kwargs` passed on."""
    problems = []
    for keyword in call.keywords:
        if keyword.arg is not None:
            if forbidden_attr_name(keyword.arg) or is_dunder(keyword.arg):
                problems.append(f"keyword `{keyword.arg}`")
            continue
        value = keyword.value
        if isinstance(value, ast.Name) and ctx.is_own_kwargs(value):
            continue  # `**kwargs` passed on: its keys are checked where they are written
        if literal_key_dict(ctx, value):
            continue
        problems.append("`**` mapping whose keys are not literal names")
    return problems


def literal_key_dict(ctx: Context, value: ast.expr) -> bool:
    """A dict display whose keys are all literal allowed names, or a name bound only to
    such displays and never changed in place (`OVERRIDES = {"lr": 0.1}`)."""
    if isinstance(value, ast.Name):
        if value.id in ctx.subscript_stores:
            return False
        bindings = ctx.binding_values(value)
        return bool(bindings) and all(
            isinstance(b, ast.Dict) and literal_key_dict(ctx, b) for b in bindings or ()
        )
    return isinstance(value, ast.Dict) and all(
        key is not None and (name := ctx.literal_str(key)) is not None
        and not forbidden_attr_name(name) and not is_dunder(name) for key in value.keys
    )


def _wrapper_names(ctx: Context, call: ast.Call, callee: str) -> None:
    """`functools.update_wrapper(w, obj, assigned=[name])` is `setattr(w, name,
    getattr(obj, name))`: the attribute names must be literal, allowed names (or the
    defaults, `functools.WRAPPER_ASSIGNMENTS`/`WRAPPER_UPDATES`)."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        ctx.report("EP202", call, f"`{callee}` with unpacked arguments: the attribute names "
                   "it copies cannot be checked")
        return
    keywords = {k.arg: k.value for k in call.keywords}
    for position, keyword in _WRAPPER_NAME_PARAMETERS[callee]:
        value = call.args[position] if position < len(call.args) else keywords.get(keyword)
        if value is None or ctx.resolve(value) & _WRAPPER_DEFAULTS:
            continue
        items = value.elts if isinstance(value, ast.Tuple | ast.List | ast.Set) else None
        names = [ctx.literal_str(item) for item in items] if items is not None else [None]
        # (A dunder other than the defaults, `assigned=("__new__",)`, changes a class
        # outside its body, as `Box.__new__ = f` does.)
        bad = [n for n in names if n is None
               or ((forbidden_attr_name(n) or is_dunder(n)) and n not in _WRAPPER_DEFAULT_NAMES)]
        for name in names:
            if name is not None and name not in _WRAPPER_DEFAULT_NAMES:
                ctx.attribute_by_name(call, name)
        if bad:
            what = "not a literal name" if bad[0] is None else f"`{bad[0]}`"
            ctx.report("EP202", call, f"`{callee}` `{keyword}=` copies attributes by name "
                       f"({what})")


def _fields_renamable(ctx: Context, module: ast.Module) -> str | None:
    """Why a Field object of `dataclasses.fields(...)` may have its `.name` changed, or None.

    `getattr(obj, f.name)` over `dataclasses.fields(...)` reads a field name, which a class
    body declares as an identifier (checked by the name rules) — unless the script changes
    a Field's `.name`. It cannot if it never holds a Field object other than to read its
    attributes: every `fields(...)` call is iterated on the spot by a plain name used only
    as `f.attr` (no dunder, never called, never passed on); every `field(...)` is the value
    of an annotated field in a `@dataclass` class body, named nowhere else in that body;
    `Field` and `make_dataclass` are not used and the module is not used as a value; where
    `field()` is used, no class has keywords (a metaclass) and no `__init_subclass__` or
    `__set_name__` is defined (each sees the class namespace before the decorator); nothing
    may assign `.name` by attribute store, setattr or a keyword-driven setattr."""
    if "name" in ctx.attribute_stores:
        return "`.name` is assigned somewhere in the script"
    if ctx.field_renamers:
        return ctx.field_renamers[0]
    if ctx.keyword_setattrs and any(
        kw.arg == "name" for node in ast.walk(module) if isinstance(node, ast.Call)
        for kw in node.keywords
    ):
        return "a keyword-driven setattr may receive `name=`"
    return _field_source_escape(ctx) or _field_object_escape(ctx, module)


def _field_source_escape(ctx: Context) -> str | None:
    for node, names in ctx.dataclass_refs:
        if names & {"dataclasses.Field", "dataclasses.make_dataclass"}:
            return f"line {node.lineno} uses `{sorted(names)[0]}`"
        if "dataclasses" in names and id(node) not in ctx.attribute_bases:
            return f"line {node.lineno} uses the `dataclasses` module as a value"
        if names & {"dataclasses.fields", "dataclasses.field"} and not ctx.is_callee(node):
            return f"line {node.lineno} uses `{sorted(names)[0]}` as a value"
    return None


def _field_object_escape(ctx: Context, module: ast.Module) -> str | None:
    iterated = {id(it): key for key, its in ctx.loop_iterables.items() for it in its}
    dataclass_fields = _dataclass_body_fields(ctx, module)
    for call, name in ctx.field_calls:
        if name == "dataclasses.field":
            if id(call) not in dataclass_fields:
                return f"line {call.lineno}: `field()` outside a plain `@dataclass` field"
            continue
        key = iterated.get(id(call))
        if key is None:
            return f"line {call.lineno}: `fields()` not iterated on the spot by a plain name"
        for use in ctx.loaded_uses(*key):
            parent = ctx.attribute_parents.get(id(use))
            if (parent is None or not isinstance(parent.ctx, ast.Load)
                    or parent.attr.startswith("__") or ctx.is_callee(parent)):
                return f"line {use.lineno}: a Field object is used other than to read a field"
    return None


def _dataclass_body_fields(ctx: Context, module: ast.Module) -> set[int]:
    """ids of `field(...)` calls that are the value of `x: T = field(...)` in the body of a
    class decorated with `dataclasses.dataclass`, where `x` is named nowhere else in that
    body; empty if any class has keywords or any `__init_subclass__` is defined."""
    allowed: set[int] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            node.name in _CLASS_CREATION_HOOKS
        ):
            return set()
        if not isinstance(node, ast.ClassDef):
            continue
        if node.keywords:
            return set()
        # The innermost decorator: one below it would see the Field objects as attributes.
        inner = node.decorator_list[-1] if node.decorator_list else None
        if inner is None or "dataclasses.dataclass" not in ctx.resolve(
            inner.func if isinstance(inner, ast.Call) else inner
        ):
            continue
        for statement in node.body:
            if (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                    and isinstance(statement.value, ast.Call)):
                target = statement.target.id
                named = any(
                    isinstance(n, ast.Name) and n.id == target and n is not statement.target
                    for part in node.body for n in ast.walk(part)
                )
                if not named:
                    allowed.add(id(statement.value))
    return allowed


def _class_field_names(module: ast.Module) -> set[str]:
    """Every annotated name of every class body: the names `dataclasses.fields` may yield."""
    return {
        statement.target.id
        for node in ast.walk(module) if isinstance(node, ast.ClassDef)
        for statement in node.body
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
    }


def _keyword_sinks(ctx: Context) -> None:
    """Calls that can reach a keyword sink (a function turning its `**kwargs` keys into
    attribute names): a keyword the analysis cannot read as an allowed name is EP202, and
    each literal keyword meets the attribute rules, as `obj.<keyword>` would."""
    if not ctx.keyword_sinks:
        return
    sinks = sink_closure(ctx)
    for where, why in ctx.unseen_keywords:
        for sink_call, sink in sinks:
            if reaches(ctx, where, sink):
                ctx.report("EP202", where, f"{why}, and line {sink_call.lineno} sets or reads "
                           "attributes named by keywords")
                break
    for call in ctx.calls:
        if not call.keywords or not any(reaches(ctx, call, sink) for _, sink in sinks):
            continue
        for keyword in call.keywords:
            value = keyword.value
            if keyword.arg is not None:
                ctx.attribute_by_name(keyword, keyword.arg)
            else:
                for key in _literal_dict_keys(ctx, value):
                    name = ctx.literal_str(key)
                    if name is not None:
                        ctx.attribute_by_name(key, name)


def _literal_dict_keys(ctx: Context, value: ast.expr) -> list[ast.expr]:
    """The keys of a dict display, or of the displays a name is bound to (`**OVERRIDES`)."""
    displays = [value] if isinstance(value, ast.Dict) else []
    if isinstance(value, ast.Name):
        displays = [b for b in ctx.binding_values(value) or () if isinstance(b, ast.Dict)]
    return [key for display in displays for key in display.keys if key is not None]
