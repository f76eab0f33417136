"""Objects the runtime hands out by call: `logging.getLogger()` is `logging.root`.

EP109 judges names (`logging.root.manager.disable = 99`); a call returns an object no name
resolves to, so `logging.getLogger().manager.disable = 99` would change the same shared
logger registry unseen. This module follows such objects: the result of a call that hands
out the runtime's logging objects (the root logger and every logger the harness, lm-eval or
transformers log through, the registry's `manager`, the classes logging instantiates), and
anything reached from one: its attributes and items, names, loop variables and parameters
bound to it, a script function or lambda returning it, an item of a display or copy
holding it, a method's result on it, a call given it (`copy.copy(root)`,
`logging.LoggerAdapter(root)`). A value of the logging module (`logging.root`,
`logging.Logger`) reached through a display, a subscript or a script function's return is
followed the same way. A container holding one is not shared itself (the script may change
its own list of handlers), only its items are.

A logger the script names itself is its own: `logging.getLogger("eval")` with a literal name
(or the script module's `__name__`) outside the runtime's namespaces. Its plain settings
(`propagate`, `disabled`, `level`, its `handlers` and `filters` lists) may be changed;
anything reached through it (`.manager`, `.parent`, `.root`, a handler) is shared.
Calls on these objects (`logger.setLevel(...)`, `logging.disable(...)`) are library APIs,
judged by the surface allowlist, not here. A container the script fills at run time holds
what it is filled with: a variable or attribute that a call is made on, or that a call is
given, along with such an object (`items.append(root)`, `heapq.heappush(h, root)`,
`setattr(box, "lg", root)`), or whose items are assigned one (`d["x"] = root`), holds it,
and so what is reached from it (`items[0]`, `box.lg`) is shared.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Hashable, Iterable, Sequence
from typing import Final

from validator.policy.context import Context
from validator.policy.names import OBJECT_SETTERS, root_module
from validator.policy.scopes import CycleMemo, Scope, own_nodes
from validator.policy.surface import is_module

# Calls that return the runtime's own logging objects.
SHARED_GETTERS: Final = frozenset(
    {"logging.getLogger", "logging.getLoggerClass", "logging.getLogRecordFactory"}
)
# Classes whose every instance reaches the registry (`Logger("x").manager`, `.root`): an
# instance, of a script subclass too, is shared as a registry logger is.
REGISTRY_CLASSES: Final = frozenset(
    {"logging.Logger", "logging.RootLogger", "logging.Manager", "logging.PlaceHolder",
     "logging.LoggerAdapter"}
)
_LOGGER_GETTERS: Final = frozenset({"logging.getLogger"})
# Logger names the runtime logs through (each with its children): the root logger, the
# harness, lm-eval (the model handle's HFLM), transformers and torch, Python's warnings.
RUNTIME_LOGGERS: Final = (
    "root", "evalpod", "lm_eval", "lm-eval", "transformers", "torch", "py.warnings",
)
# `__name__` in the script: the harness runs it as this module (harness/script_module.py).
SCRIPT_MODULE_NAME: Final = "evaluation"
# What the script may set on a logger of its own, and the lists it may change in place.
OWN_LOGGER_ATTRS: Final = frozenset({"propagate", "disabled", "level", "handlers", "filters"})
OWN_LOGGER_LISTS: Final = frozenset({"handlers", "filters"})
_MAX_DEPTH: Final = 40
_SETTERS: Final = frozenset({"builtins.setattr", *OBJECT_SETTERS})
# Methods that put their arguments into the object they are taken from.
_FILLERS: Final = frozenset(
    {"append", "extend", "insert", "update", "setdefault", "add", "appendleft",
     "extendleft", "push", "put", "__setitem__", "__iadd__", "__ior__"}
)
_ANY_ATTRIBUTE: Final = "*"  # values a `setattr` with a name that is not literal stores
# Methods a call of the class itself runs with its arguments.
_CONSTRUCTORS: Final = frozenset({"__init__", "__new__"})


class Origin(enum.Enum):
    OWN = "a logger the script named itself"
    SHARED = "an object the runtime shares with the script"
    HOLDS = "a container of the script's holding such objects"


# Builtins that return a new container of their argument's items.
_COPIES: Final = frozenset(
    f"builtins.{n}" for n in ("list", "tuple", "set", "frozenset", "sorted", "dict")
)


class SharedObjects:
    """Which expressions may be runtime objects handed out by a call (memoised)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # Results by node id, ("attribute", name) or (scope id, variable); a cycle
        # (`a = b`, `b = a or root`) answers None where it closes.
        self._memo: CycleMemo[Hashable, Origin | None] = CycleMemo(None)
        self._method_calls: dict[str, list[ast.Call]] | None = None
        self._loaded: dict[tuple[int, str], list[ast.Name]] | None = None
        self._stored = _attribute_values(ctx)
        self._given: dict[int, list[ast.Call]] | None = None
        self._attribute_loads: dict[str, list[ast.expr]] | None = None

    def origin(self, expr: ast.expr, depth: int = 0) -> Origin | None:
        if depth > _MAX_DEPTH:
            return Origin.SHARED  # too tangled to follow: fail closed
        return self._memo.answer(id(expr), lambda: self._origin(expr, depth + 1))

    def own_list(self, expr: ast.expr) -> bool:
        """`logger.handlers` of a logger the script named itself."""
        return (isinstance(expr, ast.Attribute) and expr.attr in OWN_LOGGER_LISTS
                and self.origin(expr.value) is Origin.OWN)

    # --- one expression --------------------------------------------------------------

    def _origin(self, expr: ast.expr, depth: int) -> Origin | None:
        if isinstance(expr, ast.Call):
            return self._call(expr, depth)
        if isinstance(expr, ast.Name | ast.Attribute) and self._module_value(expr):
            return Origin.SHARED
        if isinstance(expr, ast.Attribute):
            if self.origin(expr.value, depth) is not None:
                return Origin.SHARED  # `.manager`, `.parent`, `.handlers` of a logger
            return self._attribute(expr.attr, depth)
        if isinstance(expr, ast.Subscript | ast.Starred):
            return _shared(self.origin(expr.value, depth))
        if isinstance(expr, ast.Name):
            return self._name(expr, depth)
        if isinstance(expr, ast.NamedExpr):
            return self.origin(expr.value, depth)
        if isinstance(expr, ast.IfExp):
            return _combine(self.origin(e, depth) for e in (expr.body, expr.orelse))
        if isinstance(expr, ast.BoolOp):
            return _combine(self.origin(e, depth) for e in expr.values)
        return _holds(_combine(self.origin(e, depth) for e in _items(expr)))

    def _module_value(self, expr: ast.expr) -> bool:
        """A value of the logging module (`logging.root`, `logging.Logger`, a getter), not
        an upper-case constant (`logging.INFO`)."""
        for name in self.ctx.resolve(expr):
            last = name.rsplit(".", 1)[-1]
            if (root_module(name) == "logging" and not is_module(name)
                    and not last.isupper()):
                return True
        return False

    def _call(self, call: ast.Call, depth: int) -> Origin | None:
        func = call.func
        callee = self.ctx.resolve(func)
        if callee & SHARED_GETTERS:
            return Origin.OWN if callee <= _LOGGER_GETTERS and self._own_name(call) else (
                Origin.SHARED)
        if callee & REGISTRY_CLASSES:
            return Origin.SHARED
        if isinstance(func, ast.Lambda):
            return self.origin(func.body, depth)
        # `logger.getChild(...)`, `root.handlers.copy()`, `logging.getLoggerClass()("x")`
        if not callee and self.origin(func, depth) is not None:
            return Origin.SHARED
        if isinstance(func, ast.Name):
            if any(self._registry_class(c, depth) for c in self.ctx.class_named(func)):
                return Origin.SHARED  # a script subclass of `logging.Logger`
            returned = self._returned(func, depth)
            if returned is not None:
                return returned
        given = _combine(self.origin(a, depth) for a in
                         [*call.args, *(k.value for k in call.keywords)])
        if given is not None and callee and callee <= _COPIES:
            return Origin.HOLDS  # `list(root.handlers)`: a new list of the same handlers
        # `copy.copy(root)`, `max(loggers)`, `logging.LoggerAdapter(logger)`: what it
        # returns may be it or hold it.
        return _shared(given)

    def _own_name(self, call: ast.Call) -> bool:
        arguments = [*call.args, *(k.value for k in call.keywords if k.arg == "name")]
        if len(arguments) != 1 or len(call.args) + len(call.keywords) != 1:
            return False  # `getLogger()` is the root logger
        argument = arguments[0]
        if isinstance(argument, ast.JoinedStr):
            return _own_prefix(argument)
        names = self.ctx.literal_names(argument)
        if (isinstance(argument, ast.Name) and argument.id == "__name__"
                and argument.id not in self.ctx.names_bound_anywhere):
            names = frozenset({SCRIPT_MODULE_NAME})
        return bool(names) and all(_own_logger_name(n) for n in names or ())

    def _registry_class(self, cls: ast.ClassDef, depth: int) -> bool:
        """A script class deriving from a registry class (or from a class a call handed
        out, `class L(logging.getLoggerClass())`), directly or through script classes."""
        for base in cls.bases:
            if depth > _MAX_DEPTH or self.ctx.resolve(base) & REGISTRY_CLASSES:
                return True
            if isinstance(base, ast.Name) and any(
                    self._registry_class(c, depth + 1) for c in self.ctx.class_named(base)
                    if c is not cls):
                return True
            if not self.ctx.resolve(base) and self.origin(base, depth) is not None:
                return True
        return False

    def _returned(self, func: ast.Name, depth: int) -> Origin | None:
        """What a script function's `return`s give, if every binding of `func` is a `def`."""
        defs = self.ctx.only_defs(func)
        if not defs:
            return None
        returns = [node.value for function in defs for node in own_nodes(function)
                   if isinstance(node, ast.Return) and node.value is not None]
        return _combine(self.origin(r, depth) for r in returns)

    def _attribute(self, attr: str, depth: int) -> Origin | None:
        """`self.log` where some `x.log = ...` or a class body's `log = ...` is a runtime
        object (attributes are followed by name, as the analysis cannot type `x`)."""
        return self._memo.answer(("attribute", attr), lambda: _combine([
            *(self.origin(v, depth) for v in self._stored.get(attr, ())),
            *(self.origin(v, depth) for v in self._stored.get(_ANY_ATTRIBUTE, ())),
            self._filled(self._attribute_uses().get(attr, []), depth),
            *(_holds(self.origin(v, depth))
              for v in self.ctx.attribute_item_values.get(attr, ())),
            Origin.HOLDS if attr in self.ctx.opaque_item_stores else None]))

    def _name(self, name: ast.Name, depth: int) -> Origin | None:
        site = self.ctx.name_site(name)
        if site is None:
            return None
        return self._memo.answer((id(site[0]), site[1]), lambda: self._variable(name, depth))

    def _variable(self, name: ast.Name, depth: int) -> Origin | None:
        values = self.ctx.binding_values(name) or []
        found = [self.origin(v, depth) for v in values if isinstance(v, ast.expr)]
        site = self.ctx.name_site(name)
        if site is not None:
            found.append(self._filled(self._uses().get((id(site[0]), site[1]), []), depth))
            found.extend(_holds(self.origin(v, depth))
                         for v in self.ctx.item_values.get(name.id, ()))
            found.extend(self.origin(v, depth)  # `items += [root]`
                         for v in self.ctx.augmented_values.get(name.id, ()))
            if name.id in self.ctx.opaque_item_stores:
                found.append(Origin.HOLDS)  # items stored by a loop or unpacking target
        if None in values:  # a parameter, a loop variable, `with ... as`: what can feed it
            if self._registry_self(name, depth):
                return Origin.SHARED
            loops, given = self._fed(name)
            found.extend(_shared(self.origin(v, depth)) for v in loops)
            found.extend(self.origin(v, depth) for v in given)
        return _combine(found)

    def _registry_self(self, name: ast.Name, depth: int) -> bool:
        """`self` in a method of a script subclass of `logging.Logger`."""
        site = self.ctx.name_site(name)
        owned = self.ctx.def_blocks.get(id(site[0])) if site is not None else None
        if owned is None or owned[1].kind != "class":
            return False
        function, enclosing = owned
        positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        cls = self.ctx.class_blocks.get(id(enclosing))
        return (bool(positional) and positional[0] == name.id and cls is not None
                and self._registry_class(cls, depth))

    def _fed(self, name: ast.Name) -> tuple[list[ast.expr], list[ast.expr]]:
        """What a loop variable iterates over (`for h in root.handlers`), and what calls of
        a script function or method pass for a parameter of it."""
        site = self.ctx.name_site(name)
        if site is None:
            return [], []
        owner, key = site
        loops = list(self.ctx.loop_iterables.get((id(owner), key), []))
        fed: list[ast.expr] = []
        owned = self.ctx.def_blocks.get(id(owner))
        if owned is None:
            return loops, fed
        function, enclosing = owned
        args = function.args
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        index = positional.index(name.id) if name.id in positional else None
        if enclosing.kind == "class":
            # `obj.method(x)` passes `self` itself, `Cls.method(obj, x)` does not.
            shifts = (0, 1) if index else (0,)
            for call in self._calls_by_attribute().get(function.name, []):
                for shift in shifts:
                    fed.extend(_given(call, name.id, None if index is None else index - shift))
            if function.name in _CONSTRUCTORS and index != 0:
                for call in self._class_calls(enclosing):  # `Quiet(root)` runs `__init__`
                    fed.extend(_given(call, name.id, None if index is None else index - 1))
            return loops, fed
        variable = (id(enclosing.owner(function.name)), enclosing.key(function.name))
        for use in self._uses().get(variable, []):
            fed.extend(_given(self.ctx.call_of(use), name.id, index))
        return loops, fed

    def _filled(self, uses: Sequence[ast.expr], depth: int) -> Origin | None:
        """What the calls made on, or given, one of `uses` may put into it: the other
        arguments, as held (`items.append(root)`, `heapq.heappush(h, root)`)."""
        found: list[Origin | None] = []
        for use in uses:
            calls: list[tuple[ast.Call, ast.expr | None]] = []
            parent = self.ctx.attribute_parents.get(id(use))
            if parent is not None and (call := self.ctx.call_of(parent)) is not None:
                calls.append((call, None))
            elif parent is not None and parent.attr in _FILLERS:
                found.append(Origin.HOLDS)  # `add = items.append`: filled out of sight
            calls.extend((call, use) for call in self._calls_given().get(id(use), [])
                         if not (call.args and call.args[0] is use
                                 and self.ctx.resolve(call.func) & _SETTERS))
            # (`setattr(box, "lg", v)` is a store of `.lg`: `_attribute_values`)
            for call, given in calls:
                found.extend(_holds(self.origin(a, depth)) for a in
                             [*call.args, *(k.value for k in call.keywords)] if a is not given)
                if isinstance(call.func, ast.Call):  # `methodcaller("append", root)(items)`
                    found.append(_holds(self.origin(call.func, depth)))
        return _combine(found)

    def _calls_given(self) -> dict[int, list[ast.Call]]:
        """The calls each expression is an argument of, by the expression's id."""
        if self._given is None:
            self._given = {}
            for call in self.ctx.calls:
                for argument in [*call.args, *(k.value for k in call.keywords)]:
                    value = argument.value if isinstance(argument, ast.Starred) else argument
                    self._given.setdefault(id(value), []).append(call)
        return self._given

    def _attribute_uses(self) -> dict[str, list[ast.expr]]:
        """Every loaded `x.attr`, by `attr`."""
        if self._attribute_loads is None:
            self._attribute_loads = {}
            for parent in self.ctx.attribute_parents.values():
                if isinstance(parent.ctx, ast.Load):
                    self._attribute_loads.setdefault(parent.attr, []).append(parent)
        return self._attribute_loads

    def _class_calls(self, body: Scope) -> list[ast.Call]:
        """The calls of the class whose body is `body`, by a name bound to it."""
        cls = self.ctx.class_blocks.get(id(body))
        variables = [key for key, classes in self.ctx.classes.items()
                     if any(c is cls for c in classes)]
        uses = [use for key in variables for use in self._uses().get(key, [])]
        return [call for use in uses if (call := self.ctx.call_of(use)) is not None]

    def _calls_by_attribute(self) -> dict[str, list[ast.Call]]:
        if self._method_calls is None:
            self._method_calls = {}
            for call in self.ctx.calls:
                if isinstance(call.func, ast.Attribute):
                    self._method_calls.setdefault(call.func.attr, []).append(call)
        return self._method_calls

    def _uses(self) -> dict[tuple[int, str], list[ast.Name]]:
        """Every loaded name, by the variable it refers to."""
        if self._loaded is None:
            self._loaded = {}
            for use in self.ctx.loaded_names():
                site = self.ctx.name_site(use)
                if site is not None:
                    self._loaded.setdefault((id(site[0]), site[1]), []).append(use)
        return self._loaded


def _given(call: ast.Call | None, parameter: str, index: int | None) -> list[ast.expr]:
    """What `call` may pass for `parameter` (at `index` among the positional ones)."""
    if call is None:
        return []
    given = [k.value for k in call.keywords if k.arg in (parameter, None)]
    if index is not None:
        given.extend(a for i, a in enumerate(call.args)
                     if i == index or (i <= index and isinstance(a, ast.Starred)))
    return given


def _own_logger_name(name: str) -> bool:
    if not name or name == "root":
        return False
    return not any(name == n or name.startswith(f"{n}.") for n in RUNTIME_LOGGERS)


def _own_prefix(name: ast.JoinedStr) -> bool:
    """`f"eval.{task}"`: whatever follows, not a runtime logger's name nor a child of one."""
    first = name.values[0] if name.values else None
    prefix = first.value if isinstance(first, ast.Constant) else None
    if not isinstance(prefix, str):
        return False
    return not any(prefix == n or prefix.startswith(f"{n}.") or n.startswith(prefix)
                   for n in (*RUNTIME_LOGGERS, "root"))


def _items(expr: ast.expr) -> list[ast.expr]:
    """What a display or comprehension holds (nothing for other expressions)."""
    if isinstance(expr, ast.List | ast.Tuple | ast.Set):
        return list(expr.elts)
    if isinstance(expr, ast.Dict):
        return list(expr.values)
    if isinstance(expr, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        return [expr.elt]
    if isinstance(expr, ast.DictComp):
        return [expr.value]
    return []


def _combine(origins: Iterable[Origin | None]) -> Origin | None:
    """One kind, or SHARED where several meet (`own if flag else root`)."""
    found = set(origins) - {None}
    if len(found) > 1:
        return Origin.SHARED
    return found.pop() if found else None


def _shared(origin: Origin | None) -> Origin | None:
    """What is reached from a runtime object (an attribute, an item, a call's result) is
    shared, even from an own logger or a container of the script's."""
    return None if origin is None else Origin.SHARED


def _holds(origin: Origin | None) -> Origin | None:
    """A display of runtime objects (or of containers of them) holds them."""
    return None if origin is None else Origin.HOLDS


def _attribute_values(ctx: Context) -> dict[str, list[ast.expr]]:
    """`x.attr = value` anywhere, `setattr(x, "attr", value)` (under every name when the name
    is not literal: the `_ANY_ATTRIBUTE` key), and `attr = value` in a class body
    (`self.attr` reads it)."""
    stored = {attr: list(values) for attr, values in ctx.attribute_stores.items()}
    for call in ctx.calls:
        if not ctx.resolve(call.func) & _SETTERS:
            continue
        values = [a.value if isinstance(a, ast.Starred) else a for a in call.args[2:]]
        values.extend(k.value for k in call.keywords)
        names = ctx.literal_names(call.args[1]) if len(call.args) > 1 and not isinstance(
            call.args[1], ast.Starred) else None
        for name in names if names is not None else {_ANY_ATTRIBUTE}:
            stored.setdefault(name, []).extend(values)
    for cls in ctx.class_blocks.values():
        for statement in cls.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets, value = [statement.target], statement.value
            for target in targets:
                if isinstance(target, ast.Name) and value is not None:
                    stored.setdefault(target.id, []).append(value)
    return stored

