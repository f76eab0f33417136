"""Which calls can reach a keyword sink: a function whose `**kwargs` keys become attribute
names (`setattr(self, key, value)` over them, `config.update(**kwargs)`).

A call passes its keywords to the sink only if it can call the sink's function. A script
function or class is a value the analysis follows by name, so a call reaches it when its
callee names it (`tune(...)`, `Settings(...)`, `obj.__init__(...)`, `Cfg.get(...)`), or when
the callee is something the analysis cannot see (a parameter, a call result, an attribute)
and the function could be that thing: the function or its class is used other than by being
called or subclassed (stored, passed, returned, decorated), or `type(x)` can hand out the
class of any instance, or the sink is `__call__` (every instance is callable through it).
"""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Context
from validator.policy.scopes import Scope

# Methods a call of the class itself runs with its keywords.
_CONSTRUCTORS: Final = frozenset({"__init__", "__new__"})


def reaches(ctx: Context, call: ast.Call, sink: Scope) -> bool:
    """Whether `call` may pass its keywords to the function whose block is `sink`."""
    found = ctx.def_blocks.get(id(sink))
    if found is None:
        return True  # (a lambda's `**kw`: not followed, so any call may reach it)
    function, enclosing = found
    owner = ctx.class_blocks.get(id(enclosing)) if enclosing.kind == "class" else None
    name = function.name
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == name:
        return True
    if isinstance(func, ast.Name):
        defs = ctx.only_defs(func)
        if defs is not None:
            return function in defs
        classes = ctx.class_named(func)
        if (
            classes
            and owner is not None
            and name in _CONSTRUCTORS
            and any(c is owner or c.bases or c.keywords for c in classes)
        ):
            return True
        if (
            classes
            and len(classes) == len(_bindings(ctx, func))
            and not any(c.bases or c.keywords for c in classes)
        ):
            return False  # only ever a plain script class (no metaclass `__call__`)
    if owner is not None and name == "__call__":
        return True
    known = ctx.escapes.get(id(function))
    if known is None:
        known = ctx.escapes[id(function)] = _escapes(ctx, function, owner)
    return known


def _bindings(ctx: Context, name: ast.Name) -> list[object]:
    found = ctx.name_site(name)
    if found is None:
        return []
    owner, key = found
    return list(owner.bindings.get(key, []))


def _escapes(
    ctx: Context, function: ast.FunctionDef | ast.AsyncFunctionDef, owner: ast.ClassDef | None
) -> bool:
    """Whether the sink's function (or its class, or a class that may inherit it) can be
    held as a value somewhere the analysis does not follow."""
    if function.decorator_list:
        return True
    names = {function.name} if owner is None else _class_family(ctx, owner)
    if owner is not None and (owner.decorator_list or _type_used(ctx)):
        return True
    for use in ctx.loaded_names():
        if use.id not in names:
            continue
        if ctx.is_callee(use) or id(use) in ctx.class_bases:
            continue
        return True  # stored, passed, returned, or an attribute of it taken
    if _named_by_string(ctx, function.name):
        return True  # `getattr(cfg, "get")`, `methodcaller("get", **m)`
    for parent in ctx.attribute_parents.values():
        if (
            parent.attr == function.name
            and isinstance(parent.ctx, ast.Load)
            and (not ctx.is_callee(parent))
        ):
            return True  # a bound method taken as a value
    return False


def _named_by_string(ctx: Context, name: str) -> bool:
    """Whether a call argument may be the string `name` (or a dotted path through it)."""
    for call in ctx.calls:
        for argument in call.args:
            if isinstance(argument, ast.Starred):
                continue
            names = ctx.literal_names(argument) or ()
            if any(name in candidate.split(".") for candidate in names):
                return True
    return False


def sink_closure(ctx: Context) -> list[tuple[ast.Call, Scope]]:
    """The keyword sinks, and every function that passes its own `**kwargs` on to a call
    that can reach one (`def make(**kw): return Settings(**kw)` is a sink too)."""
    sinks = list(ctx.keyword_sinks)
    known = {id(block) for _, block in sinks}
    changed = True
    while changed:
        changed = False
        for call in ctx.calls:
            for keyword in call.keywords:
                value = keyword.value
                if keyword.arg is not None or not isinstance(value, ast.Name):
                    continue
                if not ctx.is_own_kwargs(value):
                    continue
                found = ctx.name_site(value)
                if found is None or id(found[0]) in known:
                    continue
                if any(reaches(ctx, call, block) for _, block in sinks):
                    sinks.append((call, found[0]))
                    known.add(id(found[0]))
                    changed = True
    return sinks


def _class_family(ctx: Context, owner: ast.ClassDef) -> set[str]:
    """The class's name and every script class with bases (any may inherit the method)."""
    names = {owner.name}
    for classes in ctx.classes.values():
        names.update(c.name for c in classes if c.bases or c.keywords)
    return names


def _type_used(ctx: Context) -> bool:
    """`type(instance)` hands out a class: any reference to the builtin `type`."""
    return any(
        use.id == "type" and "builtins.type" in ctx.resolve(use) for use in ctx.loaded_names()
    )
