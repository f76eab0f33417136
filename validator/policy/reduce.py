"""The copy/pickle protocol: what a script's `__reduce__` hands the runtime to call.

`copy.deepcopy`, `copy.copy` and pickling call `obj.__reduce_ex__(protocol)`, and
`copy._reconstruct` then calls the callable it returns with the arguments it returns,
from `copy`'s own frames (`(eval, ("...",))` runs several runtime frames away from the
script, out of the runtime guard's proximity window), sets the attributes its state
names (`setattr(y, key, value)` for the slot state) and appends/stores its items. So a
script's `__reduce__` / `__reduce_ex__` must return `(C, (args...))` with `C` a class or
function the script defines (or `type(self)`), optionally a state that is `None` or a
literal dict of allowed names, and no item iterators; a `__getstate__` must not return a
`(state, slot_state)` pair whose slot state the analysis cannot read. `__setstate__`,
`__deepcopy__`, `__copy__` and `__getnewargs__` are the script's own code, called with
the script's rights and checked like any other.
"""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context
from validator.policy.dynamic import forbidden_attr_name

REDUCE_METHODS: Final = frozenset({"__reduce__", "__reduce_ex__"})
STATE_METHODS: Final = frozenset({"__getstate__"})
_FUNCTIONS: Final = (ast.FunctionDef, ast.AsyncFunctionDef)
_NESTED_BLOCKS: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


class ReduceChecker(Checker):
    def module_end(self, ctx: Context, module: ast.Module) -> None:
        methods = [node for node in ast.walk(module) if isinstance(node, _FUNCTIONS)
                   and node.name in REDUCE_METHODS | STATE_METHODS]
        if not methods:
            return
        own = _script_callables(module)
        for method in methods:
            for value in _returned(method):
                if method.name in REDUCE_METHODS:
                    _check_reduce(ctx, method, value, own)
                else:
                    _check_state(ctx, method, value)


def _check_reduce(ctx: Context, method: ast.FunctionDef | ast.AsyncFunctionDef,
                  value: ast.expr | None, own: frozenset[str]) -> None:
    where = value if value is not None else method
    if not (isinstance(value, ast.Tuple) and 2 <= len(value.elts) <= 5
            and not any(isinstance(e, ast.Starred) for e in value.elts)):
        ctx.report("EP301", where, f"`{method.name}` must return a literal tuple "
                   "`(YourClass, (args...))`: copy and pickle call what it returns")
        return
    target = value.elts[0]
    if not (_names_own(target, own) or _type_of_self(ctx, method, target)):
        ctx.report("EP301", target, f"`{method.name}` returns a callable the script does "
                   "not define: copy and pickle would call it from the runtime's frames")
    if len(value.elts) > 2 and not _literal_state(ctx, value.elts[2]):
        ctx.report("EP202", value.elts[2], f"`{method.name}` state is not `None` or a "
                   "literal dict of allowed names: copy sets an attribute per key")
    for extra in value.elts[3:]:
        if not (isinstance(extra, ast.Constant) and extra.value is None):
            ctx.report("EP301", extra, f"`{method.name}` item iterators are not allowed "
                       "(copy calls `append`/item assignment with them)")


def _check_state(ctx: Context, method: ast.FunctionDef | ast.AsyncFunctionDef,
                 value: ast.expr | None) -> None:
    """`(state, slot_state)` makes copy `setattr(y, key, value)` per slot-state key."""
    if value is None or _plain_state(ctx, value, 0):
        return
    ctx.report("EP202", value, f"`{method.name}` may return `(state, slot_state)`, whose "
               "keys copy sets as attribute names: return a dict (or a pair whose second "
               "item is `None` or a literal dict of allowed names)")


def _plain_state(ctx: Context, value: ast.expr, depth: int) -> bool:
    if isinstance(value, ast.Tuple):
        return (len(value.elts) == 2 and not any(isinstance(e, ast.Starred) for e in value.elts)
                and _literal_state(ctx, value.elts[1]))
    if isinstance(value, ast.Dict | ast.DictComp | ast.Constant):
        return True
    if isinstance(value, ast.Call):
        return ctx.resolve(value.func) == {"builtins.dict"}
    if isinstance(value, ast.Name) and depth < 20:
        bindings = ctx.binding_values(value)
        return bool(bindings) and all(
            isinstance(b, ast.expr) and _plain_state(ctx, b, depth + 1) for b in bindings or ()
        )
    return False


def _literal_state(ctx: Context, value: ast.expr) -> bool:
    if isinstance(value, ast.Constant) and value.value is None:
        return True
    return isinstance(value, ast.Dict) and all(
        key is not None and (name := ctx.literal_str(key)) is not None
        and not forbidden_attr_name(name) for key in value.keys
    )


def _returned(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr | None]:
    """The values of the function's own `return` statements (not nested blocks')."""
    found: list[ast.expr | None] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            found.append(node.value)
        elif not isinstance(node, _NESTED_BLOCKS):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _names_own(target: ast.expr, own: frozenset[str]) -> bool:
    return isinstance(target, ast.Name) and target.id in own


def _type_of_self(ctx: Context, method: ast.FunctionDef | ast.AsyncFunctionDef,
                  target: ast.expr) -> bool:
    """`type(self)`, `self` being the method's first parameter: the script's own class."""
    positional = [*method.args.posonlyargs, *method.args.args]
    return (isinstance(target, ast.Call) and len(target.args) == 1 and not target.keywords
            and ctx.resolve(target.func) == {"builtins.type"} and bool(positional)
            and isinstance(target.args[0], ast.Name) and target.args[0].id == positional[0].arg)


def _script_callables(module: ast.Module) -> frozenset[str]:
    """Names of the module-level `def`s and classes that nothing else in the script binds
    (no assignment, import, parameter, loop or other `def` of that name anywhere)."""
    counts: dict[str, int] = {}
    for node in ast.walk(module):
        for name in _bound_by(node):
            counts[name] = counts.get(name, 0) + 1
    return frozenset(
        node.name for node in module.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and counts.get(node.name) == 1
    )


def _bound_by(node: ast.AST) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.alias):
        return [node.asname or node.name.split(".", 1)[0]]
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    if isinstance(node, ast.Global | ast.Nonlocal):
        return list(node.names)
    return []
