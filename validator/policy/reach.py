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
from collections.abc import Callable
from typing import Final

from validator.policy.context import Context
from validator.policy.names import OBJECT_SETTERS
from validator.policy.scopes import COMPREHENSION_BLOCKS, Scope

# Methods a call of the class itself runs with its keywords.
_CONSTRUCTORS: Final = frozenset({"__init__", "__new__"})
# Calls that set an attribute named by their second argument.
_ATTRIBUTE_SETTERS: Final = frozenset({"builtins.setattr", "builtins.delattr", *OBJECT_SETTERS})
_COMPREHENSIONS: Final = tuple(COMPREHENSION_BLOCKS)
_MAX_DEPTH: Final = 20
# Calls that copy another object's `__dict__` into theirs by default.
_DICT_COPIERS: Final = frozenset({"functools.update_wrapper", "functools.wraps"})


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
    """The names of the class and of every script class that may inherit from it: one with
    a base in the family, or a base or metaclass the analysis cannot place. A base that is
    an imported or builtin class (`enum.Enum`, `str`, `abc.ABC`, `Generic[T]`) carries none
    of the script's methods, nor does a script class outside the family."""
    family: list[ast.ClassDef] = [owner]
    candidates = [c for classes in ctx.classes.values() for c in classes if c is not owner]
    changed = True
    while changed:
        changed = False
        for cls in candidates:
            if cls not in family and _may_inherit(ctx, cls, family):
                family.append(cls)
                changed = True
    return {c.name for c in family}


def _may_inherit(ctx: Context, cls: ast.ClassDef, family: list[ast.ClassDef]) -> bool:
    for base in [*cls.bases, *(k.value for k in cls.keywords if k.arg == "metaclass")]:
        if isinstance(base, ast.Name):
            classes = ctx.class_named(base)
            if classes:
                if any(c in family for c in classes):
                    return True
                if len(classes) == len(_bindings(ctx, base)):
                    continue  # only ever script classes, none of them in the family
                return True
        placed = base.value if isinstance(base, ast.Subscript) else base
        if not isinstance(placed, ast.Name | ast.Attribute) or not ctx.resolve(placed):
            return True
    return False


# What `type(x).<attr>` reads without handing the class itself on.
_CLASS_NAME_ATTRS: Final = frozenset({"__name__", "__qualname__", "__module__"})


def _type_used(ctx: Context) -> bool:
    """`type(instance)` hands out a class: any reference to the builtin `type`, except a
    one-argument call whose result only gives its name (`type(exc).__qualname__`)."""
    named_only = {
        id(call.func)
        for call in ctx.calls
        if isinstance(call.func, ast.Name)
        and len(call.args) == 1
        and not call.keywords
        and (parent := ctx.attribute_parents.get(id(call))) is not None
        and parent.attr in _CLASS_NAME_ATTRS
    }
    return any(
        use.id == "type" and id(use) not in named_only and "builtins.type" in ctx.resolve(use)
        for use in ctx.loaded_names()
    )


# Class-body names that decide what an instance's attribute lookup gives, or what calling
# the class returns: a class binding one of them is not followed.
_LOOKUP_HOOKS: Final = frozenset({"__new__", "__getattribute__", "__class__"})
# Library classes a script class may derive from and still own the methods it defines
# (`class Acc(nn.Module)` with `def update`): none overrides attribute lookup
# (`__getattribute__`; `nn.Module.__getattr__` runs only when lookup fails), construction
# (`__new__` or a metaclass `__call__` handing out another object), or sets instance
# attributes from its constructor's keywords, which could shadow the script's `def` per
# instance (`PretrainedConfig(**kw)` does; `nn.Module(**kw)` raises, `dict(**kw)` sets
# items). `Generic[T]` only records type parameters.
PLAIN_LIBRARY_BASES: Final = frozenset(
    {"builtins.dict", "builtins.list", "builtins.set", "collections.Counter",
     "collections.OrderedDict", "collections.defaultdict", "collections.UserDict",
     "abc.ABC", "typing.Generic", "torch.nn.Module", "torch.nn.modules.module.Module"}
)
_SAFE_DECORATORS: Final = frozenset({"dataclasses.dataclass"})


def own_method(ctx: Context, receiver: ast.expr, method: str) -> bool:
    """Whether `receiver.method` is always a script class's own `def method` (so a call of it
    runs script code, which the analysis checks, not a library method of that name).

    It is when the receiver is always an instance of script classes whose lookup of `method`
    finds an undecorated `def` in a script class (the class or its script bases; no metaclass,
    `__new__`, `__getattribute__` or class decorator but `@dataclass`; a library base only
    from `PLAIN_LIBRARY_BASES`, and only below a class that defines `method` itself), and no
    store anywhere can shadow it (`x.method = ...`, `setattr(x, name, ...)` with a name that
    may be `method`). An instance is a call of such a class, a name or attribute only ever
    bound to instances (a loop over a display or comprehension of them included), a
    parameter every call passes one for, or `self` in the class's methods when no method can
    be called with another first argument (the class is only called, and `type` unused).
    An attribute counts only on a receiver that is itself script-made (`held_values`).
    Annotations are not followed: they do not bind anything at run time.
    """
    if _shadowable(ctx, method):
        return False
    return _instance(ctx, receiver, lambda cls: _finds_def(ctx, cls, method, set()), 0)


def held_values(ctx: Context, node: ast.Attribute, depth: int = 0) -> list[ast.expr] | None:
    """The values `x.attr` can hold, or None when the analysis cannot tell.

    The stores `x.attr = value` anywhere in the script say what an attribute holds only on
    an object the script made: an instance of plain script classes (`Box()`, a name or
    parameter only bound to one, `self` in their methods), whose classes neither bind
    `attr` in a body (a class attribute, property or dataclass field) nor hook attribute
    lookup or stores, and derive from nothing but script classes and `object`. What is
    reached from a foreign object (the model, its attributes, a library call's result) is
    foreign whatever names the script stores elsewhere: `Box().backend_tokenizer = Acc()`
    says nothing of `model.tokenizer.backend_tokenizer`. Any store the analysis cannot
    value (`setattr` with a name that may be `attr`, a loop or unpacking target,
    `functools.update_wrapper` copying a `__dict__`) makes the attribute unknown too.
    """
    attr = node.attr
    if depth > _MAX_DEPTH or (attr.startswith("__") and attr.endswith("__")):
        return None
    stores = ctx.attribute_stores.get(attr)
    if not stores or attr in ctx.opaque_attribute_stores or _set_by_name(ctx, attr):
        return None
    if not _instance(ctx, node.value, lambda cls: _holder(ctx, cls, attr, set()), depth + 1):
        return None
    return list(stores)


def script_made(ctx: Context, value: ast.expr, attr: str) -> bool:
    """Whether `value.attr` is what the script put there: `value` is always an instance of
    plain script classes (`_holder`: only script classes or `object` as bases, no lookup
    or store hooks; a class attribute or field of that name is the script's own too), and
    no store of `attr` escapes the `x.attr = value` record (`setattr` by a name that may be
    `attr`, `functools.update_wrapper` copying a library object's `__dict__`, a loop or
    unpacking target)."""
    if attr in ctx.opaque_attribute_stores or _set_by_name(ctx, attr):
        return False
    return script_instance(ctx, value)


def script_instance(ctx: Context, value: ast.expr) -> bool:
    """Whether `value` is always an instance of plain script classes (`_holder`)."""
    return _instance(ctx, value, lambda cls: _holder(ctx, cls, "", set()), 0)


def _shadowable(ctx: Context, method: str) -> bool:
    if ctx.attribute_stores.get(method) or method in ctx.opaque_attribute_stores:
        return True
    return _set_by_name(ctx, method)


def _set_by_name(ctx: Context, attr: str) -> bool:
    """Whether a call may store `attr` on an object by its name: `setattr`-like with a
    name that is not literal or is `attr`, or `functools.update_wrapper`/`wraps` (which
    copy a whole `__dict__` by default)."""
    for call in ctx.calls:
        callee = ctx.resolve(call.func)
        if callee & _DICT_COPIERS:
            return True
        if not callee & _ATTRIBUTE_SETTERS:
            continue
        if len(call.args) < 2 or isinstance(call.args[1], ast.Starred):
            return True
        names = ctx.literal_names(call.args[1])
        if names is None or attr in names:
            return True
    return False


ClassTest = Callable[[ast.ClassDef], bool]


def _instance(ctx: Context, value: ast.expr, accepts: ClassTest, depth: int) -> bool:
    """Whether `value` is always an instance of script classes that `accepts`."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, ast.Call):
        return isinstance(value.func, ast.Name) and _own_class(ctx, value.func, accepts)
    if isinstance(value, ast.Attribute):
        stores = held_values(ctx, value, depth + 1)
        return stores is not None and all(_instance(ctx, v, accepts, depth + 1) for v in stores)
    if not isinstance(value, ast.Name):
        return False
    if _self_of(ctx, value, accepts):
        return True
    loops = ctx.only_loop_bound(value)
    if loops is not None:
        return all(_instances(ctx, it, accepts, depth + 1) for it in loops)
    bound = ctx.binding_values(value)
    if not bound:
        return False
    known = [b for b in bound if isinstance(b, ast.expr)]
    unknown = len(bound) - len(known)
    if unknown > 1 or any(isinstance(b, str) for b in bound):
        return False
    if unknown and not parameter_given(
        ctx, value, lambda given: _instance(ctx, given, accepts, depth + 1)
    ):
        return False
    return all(_instance(ctx, b, accepts, depth + 1) for b in known)


def _instances(ctx: Context, iterable: ast.expr, accepts: ClassTest, depth: int) -> bool:
    """Whether every item of `iterable` is an instance: a display or comprehension of them,
    or a name bound only to those and never changed in place."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(iterable, ast.List | ast.Tuple | ast.Set):
        return all(
            not isinstance(e, ast.Starred) and _instance(ctx, e, accepts, depth + 1)
            for e in iterable.elts
        )
    if isinstance(iterable, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        return _instance(ctx, iterable.elt, accepts, depth + 1)
    if isinstance(iterable, ast.Name):
        if iterable.id in ctx.method_mutated or iterable.id in ctx.subscript_stores:
            return False
        bound = ctx.binding_values(iterable) or []
        return bool(bound) and all(
            isinstance(b, ast.expr) and _instances(ctx, b, accepts, depth + 1) for b in bound
        )
    return False


def _own_class(ctx: Context, name: ast.Name, accepts: ClassTest) -> bool:
    """`name` is only ever script classes, each of which `accepts`."""
    classes = ctx.class_named(name)
    if not classes or len(classes) != len(_bindings(ctx, name)):
        return False
    return all(accepts(c) for c in classes)


# Class-body names that let an instance's attribute hold something no `x.attr = value`
# shows: lookup and store hooks, or a `__dict__`/`__slots__` of the class's making.
_HOLDER_HOOKS: Final = frozenset(
    {"__getattr__", "__setattr__", "__delattr__", "__dict__", "__slots__"}
)
# Library bases that add no instance attributes and hook no lookup.
_HOLDER_LIBRARY_BASES: Final = frozenset({"builtins.object", "abc.ABC", "typing.Generic"})


def _holder(ctx: Context, cls: ast.ClassDef, attr: str, seen: set[int]) -> bool:
    """Whether an instance of `cls` holds `attr` only as `x.attr = value` stores it: no
    metaclass, no decorator but `@dataclass`, no body binding of `attr` or of a lookup or
    store hook, in it or any base, and only script classes or `_HOLDER_LIBRARY_BASES` as
    bases."""
    if id(cls) in seen or len(seen) > _MAX_DEPTH or cls.keywords:
        return False
    if not all(
        ctx.resolve(_decorator(d)) <= _SAFE_DECORATORS and ctx.resolve(_decorator(d))
        for d in cls.decorator_list
    ):
        return False
    if _body_bindings(cls).keys() & (_LOOKUP_HOOKS | _HOLDER_HOOKS | {attr}):
        return False
    for base in cls.bases:
        if _library_class(ctx, base) in _HOLDER_LIBRARY_BASES:
            continue
        if not isinstance(base, ast.Name):
            return False
        classes = ctx.class_named(base)
        if not classes or len(classes) != len(_bindings(ctx, base)):
            return False
        if not all(_holder(ctx, c, attr, seen | {id(cls)}) for c in classes):
            return False
    return True


def _finds_def(ctx: Context, cls: ast.ClassDef, method: str, seen: set[int]) -> bool:
    if id(cls) in seen or len(seen) > _MAX_DEPTH:
        return False
    seen = seen | {id(cls)}
    if cls.keywords or not all(
        ctx.resolve(_decorator(d)) <= _SAFE_DECORATORS and ctx.resolve(_decorator(d))
        for d in cls.decorator_list
    ):
        return False
    bound = _body_bindings(cls)
    if bound.keys() & _LOOKUP_HOOKS:
        return False
    own = bound.get(method)
    # The class's own `def` comes first in its MRO, before any library base; without one, a
    # library base listed before a script base would be looked up first (`class C(dict, A)`).
    bases = _script_bases(ctx, cls, library=own is not None)
    if bases is None:
        return False
    if own is not None:
        defined = all(isinstance(b, ast.FunctionDef) and not b.decorator_list for b in own)
        return defined and all(_lookup_plain(ctx, b, seen) for b in bases)
    return bool(bases) and all(_finds_def(ctx, b, method, seen) for b in bases)


def _lookup_plain(ctx: Context, cls: ast.ClassDef, seen: set[int]) -> bool:
    if id(cls) in seen or len(seen) > _MAX_DEPTH or cls.keywords or cls.decorator_list:
        return False
    if _body_bindings(cls).keys() & _LOOKUP_HOOKS:
        return False
    bases = _script_bases(ctx, cls, library=True)
    return bases is not None and all(_lookup_plain(ctx, c, seen | {id(cls)}) for c in bases)


def _script_bases(
    ctx: Context, cls: ast.ClassDef, *, library: bool = False
) -> list[ast.ClassDef] | None:
    """The script classes `cls` derives from (`object` aside, and with `library` the
    `PLAIN_LIBRARY_BASES`); None when a base is anything else (another library class, an
    expression, a name also bound otherwise)."""
    bases: list[ast.ClassDef] = []
    for base in cls.bases:
        named = _library_class(ctx, base)
        if named == "builtins.object" or (library and named in PLAIN_LIBRARY_BASES):
            continue
        if not isinstance(base, ast.Name):
            return None
        classes = ctx.class_named(base)
        if not classes or len(classes) != len(_bindings(ctx, base)):
            return None
        bases.extend(classes)
    return bases


def _library_class(ctx: Context, base: ast.expr) -> str | None:
    """The one library class a base can only be: a builtin name the script never binds, or
    a name or attribute chain whose root is bound only by imports (`nn.Module`,
    `collections.Counter`); `Generic[T]` is `typing.Generic`. None for anything else (an
    alias the script assigns could also be bound to a value the analysis cannot see)."""
    if isinstance(base, ast.Subscript):
        return "typing.Generic" if _library_class(ctx, base.value) == "typing.Generic" else None
    root = base
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return None
    if root.id in ctx.names_bound_anywhere:
        values = ctx.binding_values(root)
        if not values or not all(isinstance(v, str) for v in values):
            return None
    names = ctx.resolve(base)
    return next(iter(names)) if len(names) == 1 else None


def _decorator(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node


def _body_bindings(cls: ast.ClassDef) -> dict[str, list[ast.AST]]:
    """Each name a class body binds (not counting nested blocks), with the nodes binding it."""
    found: dict[str, list[ast.AST]] = {}
    stack: list[ast.AST] = list(cls.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.setdefault(node.name, []).append(node)
            stack.extend([*node.decorator_list, *getattr(node, "bases", ())])
            continue
        if isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.setdefault(node.id, []).append(node)
        elif isinstance(node, ast.alias):
            found.setdefault((node.asname or node.name).split(".")[0], []).append(node)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                found.setdefault(name, []).append(node)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            found.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            found.setdefault(node.rest, []).append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _self_of(ctx: Context, name: ast.Name, accepts: ClassTest) -> bool:
    """`self` (the first parameter) in an undecorated method of a class that `accepts`
    (as does every class that may inherit from it), when no method of any script class can
    be handed another first argument: the class family is only called or subclassed, `type`
    is never used, and no method is taken from a class."""
    found = ctx.method_parameters(name)
    if found is None:
        return False
    scope, signature = found
    if not signature.positional or signature.positional[0] != name.id:
        return False
    owned = ctx.def_blocks.get(id(scope))
    if owned is None:
        return False
    _, enclosing = owned
    cls = ctx.class_blocks.get(id(enclosing))
    if cls is None or not accepts(cls):
        return False
    if _type_used(ctx):
        return False
    family = _class_family(ctx, cls)
    for use in ctx.loaded_names():
        if use.id in family and not ctx.is_callee(use) and id(use) not in ctx.class_bases:
            return False  # `Cls.method(other, ...)`, or the class stored or passed
    for classes in ctx.classes.values():
        for c in classes:
            if c.name in family and not accepts(c):
                return False  # a subclass whose instances find another `method`
    return True


def parameter_given(ctx: Context, name: ast.Name, accepts: Callable[[ast.expr], bool]) -> bool:
    """`def merge(into, extra): into.update(extra)`: `name` is a parameter of a plain
    script function (not a method, lambda or decorated def) used only by direct calls,
    each passing a value `accepts` for it, by position or keyword, with no `*`/`**`."""
    found = ctx.name_site(name)
    if found is None:
        return False
    block, _ = found
    owned = ctx.def_blocks.get(id(block))
    if owned is None:
        return False
    function, enclosing = owned
    args = function.args
    if function.decorator_list or enclosing.kind == "class" or args.vararg or args.kwarg:
        return False
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    keyword_only = [a.arg for a in args.kwonlyargs]
    if name.id not in positional and name.id not in keyword_only:
        return False
    index = positional.index(name.id) if name.id in positional else None
    defaulted = {a for a, _ in zip(reversed(positional), reversed(args.defaults), strict=False)}
    defaulted |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d}
    uses = ctx.loaded_uses(id(enclosing.owner(function.name)), enclosing.key(function.name))
    defs = ctx.defs.get((id(enclosing.owner(function.name)), enclosing.key(function.name)), [])
    bindings = enclosing.owner(function.name).bindings.get(enclosing.key(function.name), [])
    if len(defs) != len(bindings) or not uses:
        return False
    for use in uses:
        call = ctx.call_of(use)
        if call is None:
            return False
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            return False
        given = [k.value for k in call.keywords if k.arg == name.id]
        if index is not None and index < len(call.args):
            given.append(call.args[index])
        if not given and name.id in defaulted:
            continue  # the default, among the bindings already
        if len(given) != 1 or not accepts(given[0]):
            return False
    return True
