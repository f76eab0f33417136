"""Attribute names as mapping keys: library methods that set an attribute per key.

`model.config.update({name: C})` is `setattr(model.config, name, C)` for each key
(transformers' `PretrainedConfig.update`; `GenerationConfig.update(**kw)` likewise), so a
key built at run time is a computed attribute name the `getattr`/`setattr` rules never
see. The analysis cannot type `model.config`, so every `.update(...)` / `.from_dict(...)`
on a receiver it cannot see to be a plain container must show its keys: literal allowed
names, a function's own `**kwargs` passed on (then every call in the script must show its
keywords, as for keyword-driven setattrs), or an argument that cannot be a mapping at all
(`bar.update(1)`, `h.update(len(batch))`). The other setters of the class are refused by
other rules: `obj.__dict__.update` (EP301), `vars(obj).update` (EP203),
`types.SimpleNamespace` / `argparse.Namespace` (EP102/EP101), `dataclasses.replace(**m)`
and `X.__init__(obj, **m)` (dynamic.py), `object.__setattr__` (the reflection rules), and
the copy protocol's state (reduce.py).
"""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context
from validator.policy.dynamic import keyword_problems, literal_key_dict
from validator.policy.reach import held_values, own_method, parameter_given
from validator.policy.scopes import Scope, own_nodes

# Methods that set one attribute per key of their mapping argument (or keywords) on
# library objects: `PretrainedConfig.update`/`from_dict`, `GenerationConfig.update`.
SETTER_METHODS: Final = frozenset({"update", "from_dict"})
# What a receiver may be made by and still be a plain container (or a progress bar or
# hash object, whose `update` takes a count or bytes): its `update` sets no attribute.
_CONTAINER_FACTORIES: Final = frozenset(
    {"builtins.dict", "builtins.set", "collections.Counter", "collections.OrderedDict",
     "collections.defaultdict", "collections.ChainMap"}
)
_PLAIN_RECEIVER_MODULES: Final = ("hashlib.", "tqdm.")
_CONTAINER_DISPLAYS: Final = (ast.Dict, ast.DictComp, ast.Set, ast.SetComp)
# Builtins whose result is never a mapping.
_SCALAR_BUILTINS: Final = frozenset(
    {f"builtins.{n}" for n in ("len", "int", "float", "bool", "str", "bytes", "round", "abs",
                               "ord", "hash")}
)
# Tensor factories: a tensor is no mapping, and its items are tensors, never the string keys
# an attribute setter needs (`ModuleDict.update` of pairs raises on them).
_TENSOR_FACTORIES: Final = frozenset(
    {f"torch.{n}" for n in ("tensor", "as_tensor", "zeros", "ones", "full", "empty", "arange",
                            "linspace", "rand", "randn", "randint", "stack", "cat", "zeros_like",
                            "ones_like")}
)
_MAX_DEPTH: Final = 20


class SetterChecker(Checker):
    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        if attr in SETTER_METHODS and isinstance(node, ast.Attribute):
            ctx.setter_methods.append(node)  # decided in module_end, once callees are known

    def call(self, ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
        func = node.func
        if callee & {"builtins.getattr", "operator.attrgetter", "operator.methodcaller"}:
            _setter_by_name(ctx, node, callee)
        if not (isinstance(func, ast.Attribute) and func.attr in SETTER_METHODS):
            return
        if plain_container(ctx, func.value) or own_method(ctx, func.value, func.attr):
            return
        problems = keyword_problems(ctx, node)
        for argument in mapping_arguments(node):
            problem = _argument_problem(ctx, argument)
            if problem:
                problems.append(problem)
        if problems:
            ctx.report("EP202", node, f"`.{func.attr}` with {problems[0]}: library objects "
                       f"(`PretrainedConfig.{func.attr}`) set an attribute per key, and the "
                       "analysis cannot type this receiver")
        else:
            sink = _forwarded_kwargs_owner(ctx, node)
            if sink is not None:
                # Its keys are the callers' keywords: checked like a keyword-driven setattr.
                ctx.keyword_setattrs.append(node)
                ctx.keyword_sinks.append((node, sink))

    def module_end(self, ctx: Context, module: ast.Module) -> None:
        for node in ctx.setter_methods:
            if (not ctx.is_callee(node) and not plain_container(ctx, node.value)
                    and not own_method(ctx, node.value, node.attr)):
                ctx.report("EP202", node, f"`.{node.attr}` taken as a value: on a library "
                           "object it sets an attribute per key; call it on the spot")


def plain_container(ctx: Context, receiver: ast.expr, depth: int = 0) -> bool:
    """Whether `receiver` is always a builtin container (or a tqdm bar / hash object): a
    display, a container factory's result, the factory itself (`dict.update`), or a name
    or attribute only ever bound to those."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(receiver, _CONTAINER_DISPLAYS):
        return True
    if isinstance(receiver, ast.Call):
        made_by = ctx.resolve(receiver.func)
        if not made_by and isinstance(receiver.func, ast.Name):
            return _returns_containers(ctx, receiver.func, depth + 1)
        return bool(made_by) and all(
            name in _CONTAINER_FACTORIES or name.startswith(_PLAIN_RECEIVER_MODULES)
            for name in made_by
        )
    resolved = ctx.resolve(receiver)
    if resolved and resolved <= _CONTAINER_FACTORIES:
        return True
    if isinstance(receiver, ast.Name):
        values = ctx.binding_values(receiver)
        if not values:
            return False
        if None in values and (values.count(None) != 1 or not parameter_given(
            ctx, receiver, lambda given: plain_container(ctx, given, depth + 1)
        )):
            return False
        return all(
            plain_container(ctx, v, depth + 1) for v in values if isinstance(v, ast.expr)
        ) and all(v is None or isinstance(v, ast.expr) for v in values)
    if isinstance(receiver, ast.Attribute):
        stores = held_values(ctx, receiver, depth + 1)
        return stores is not None and all(plain_container(ctx, v, depth + 1) for v in stores)
    if isinstance(receiver, ast.Subscript) and isinstance(receiver.value, ast.Name):
        return _container_of_containers(ctx, receiver.value, depth + 1)
    return False


def _container_of_containers(ctx: Context, base: ast.Name, depth: int) -> bool:
    """`results[task]` where `results` only ever holds plain containers: bound only to
    dict displays of them or `defaultdict(dict)`-like, its items assigned only them, and
    no mutating method taken from it (which could add anything)."""
    if base.id in ctx.method_mutated:
        return False
    values = ctx.binding_values(base)
    if not values:
        return False
    for value in values:
        if isinstance(value, ast.Dict):
            if not all(plain_container(ctx, v, depth + 1) for v in value.values):
                return False
        elif isinstance(value, ast.Call) and value.args and not value.keywords:
            factory = ctx.resolve(value.func)
            made = ctx.resolve(value.args[0])
            if (factory != {"collections.defaultdict"} or len(value.args) != 1
                    or not made or not made <= _CONTAINER_FACTORIES):
                return False
        else:
            return False
    return all(plain_container(ctx, v, depth + 1) for v in ctx.item_values.get(base.id, []))


def mapping_arguments(call: ast.Call) -> list[ast.expr]:
    """The positional arguments of `x.update(...)` that a library setter takes as its mapping
    of attribute names: `PretrainedConfig.update(self, config_dict)`, `dict.update(self,
    other=(), /, **kw)` and the like take at most one, after the instance when called on the
    class (`PretrainedConfig.update(cfg, m)`). So with one argument it is the mapping, with
    two the second (the first is the instance), and three or more fit no setter (TypeError)
    unless one is starred, when every one may be."""
    args = call.args
    if any(isinstance(a, ast.Starred) for a in args):
        return list(args)
    return list(args[-1:]) if len(args) <= 2 else []


def _argument_problem(ctx: Context, argument: ast.expr) -> str | None:
    if isinstance(argument, ast.Starred):
        return "`*` arguments"
    if _seen_keys(ctx, argument, 0):
        return None
    return "a mapping whose keys are not literal names"


def _seen_keys(ctx: Context, value: ast.expr, depth: int) -> bool:
    """Whether every key `value` can hold, as a mapping, is a literal allowed name: a dict
    display of such keys, a value that is never a mapping nor pairs (a number, a string,
    `len(x)`, arithmetic on those, a tensor, a display of numbers), a function's own
    `**kwargs`, or a name bound only to those and never changed in place."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, ast.Dict):
        return literal_key_dict(ctx, value)
    if isinstance(value, ast.Constant | ast.JoinedStr | ast.Compare):
        return True
    if isinstance(value, ast.UnaryOp):
        return _seen_keys(ctx, value.operand, depth + 1)
    if isinstance(value, ast.BinOp):  # `a | b` merges dicts: both sides count
        return _seen_keys(ctx, value.left, depth + 1) and _seen_keys(ctx, value.right, depth + 1)
    if isinstance(value, ast.Call):
        callee = ctx.resolve(value.func)
        return bool(callee) and callee <= _SCALAR_BUILTINS | _TENSOR_FACTORIES
    if isinstance(value, ast.List | ast.Tuple | ast.Set):
        # Items that are numbers cannot be (key, value) pairs for `dict.update`-like setters.
        return all(
            isinstance(e, ast.Constant) and not isinstance(e.value, str | bytes) for e in value.elts
        )
    if isinstance(value, ast.Name):
        if ctx.is_own_kwargs(value):
            return True
        if value.id in ctx.subscript_stores:
            return False
        bindings = ctx.binding_values(value)
        return bool(bindings) and all(
            isinstance(b, ast.expr) and _seen_keys(ctx, b, depth + 1) for b in bindings or ()
        )
    return False


def _forwarded_kwargs_owner(ctx: Context, call: ast.Call) -> Scope | None:
    """The function whose own `**kwargs` the call passes on, if it does."""
    for value in [*call.args, *(k.value for k in call.keywords if k.arg is None)]:
        if isinstance(value, ast.Name) and ctx.is_own_kwargs(value):
            found = ctx.name_site(value)
            if found is not None:
                return found[0]
    return None


def _setter_by_name(ctx: Context, call: ast.Call, callee: frozenset[str]) -> None:
    """`getattr(cfg, "update")`, `attrgetter("update")`, `methodcaller("update", m)`: the
    setter fetched by name escapes the argument check above."""
    if "builtins.getattr" in callee:
        if len(call.args) < 2 or plain_container(ctx, call.args[0]):
            return
        names = call.args[1:2]
    else:
        names = call.args if "operator.attrgetter" in callee else call.args[:1]
    for argument in names:
        found = None if isinstance(argument, ast.Starred) else ctx.literal_names(argument)
        for name in sorted(found or ()):
            if name.rsplit(".", 1)[-1] in SETTER_METHODS:
                ctx.report("EP202", call, f"`{name}` fetched by name: on a library object "
                           "it sets an attribute per key")


def _returns_containers(ctx: Context, func: ast.Name, depth: int) -> bool:
    """`f(...)` where `f` is only ever an undecorated script function, not a generator,
    every `return` of which gives a plain container (or nothing)."""
    defs = ctx.only_defs(func)
    if not defs:
        return False
    for function in defs:
        if function.decorator_list or isinstance(function, ast.AsyncFunctionDef):
            return False
        for node in own_nodes(function):
            if isinstance(node, ast.Yield | ast.YieldFrom):
                return False
            if (isinstance(node, ast.Return) and node.value is not None
                    and not plain_container(ctx, node.value, depth + 1)):
                return False
    return True

