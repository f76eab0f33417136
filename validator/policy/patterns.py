"""Class patterns: `case C(attr=p)` reads `subject.attr`, and `case C(p)` reads the
attribute `C.__match_args__` names, then binds what it read to `p`.

The read happens on whatever the subject is, and the capture then holds a value the rules
that trace `x.attr` never see (`match torch.cuda: case object(os=o)` binds the `os`
module). So a class pattern with sub-patterns is allowed only where the class limits the
subject to objects the script made: one of the script's own plain classes (no base or
decorator the analysis cannot place, no class of the script inheriting from it that has
one), a `namedtuple`/`NamedTuple` class, or a builtin type that matches the subject itself
(`str(s)`, `int(n)`: one positional sub-pattern, the subject). A class pattern without
sub-patterns is an `isinstance` check, and mapping, sequence, literal and capture
patterns read no attribute.
"""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context

# Builtin types whose one positional sub-pattern matches the subject itself.
_SELF_MATCHING: Final = frozenset(
    f"builtins.{name}" for name in (
        "bool", "bytearray", "bytes", "dict", "float", "frozenset", "int", "list", "set",
        "str", "tuple",
    )
)
# Calls that make a tuple class whose attributes are its fields and tuple methods.
_TUPLE_CLASS_FACTORIES: Final = frozenset({"collections.namedtuple", "typing.NamedTuple"})
# Bases and decorators that keep a script class's instances the script's own.
_PLAIN_BASES: Final = frozenset({"builtins.object", "typing.NamedTuple"})
_PLAIN_DECORATORS: Final = frozenset({"dataclasses.dataclass"})


class ClassPatternChecker(Checker):
    def module_end(self, ctx: Context, module: ast.Module) -> None:
        for node in ctx.class_patterns:
            if not (node.patterns or node.kwd_patterns):
                continue  # an isinstance check
            reason = _foreign(ctx, module, node)
            if reason:
                ctx.report("EP202", node, f"class pattern with sub-patterns on {reason}: it "
                           "reads attributes of the subject the analysis cannot follow; match "
                           "on your own classes, or read the attributes by name")


def _foreign(ctx: Context, module: ast.Module, node: ast.MatchClass) -> str | None:
    """Why the class of `node` may match an object the script did not make, or None."""
    cls = node.cls
    resolved = ctx.resolve(cls) if isinstance(cls, ast.Name | ast.Attribute) else frozenset()
    if resolved and resolved <= _SELF_MATCHING:
        if len(node.patterns) == 1 and not node.kwd_patterns:
            return None
        return f"`{sorted(resolved)[0].removeprefix('builtins.')}` other than with one " \
               "positional sub-pattern (the subject itself)"
    if not isinstance(cls, ast.Name):
        return "a class the script did not define"
    values = ctx.binding_values(cls)
    classes = ctx.class_named(cls)
    if not values:
        return f"`{cls.id}`, a class the script did not define"
    tuple_classes = [v for v in values if isinstance(v, ast.Call) and isinstance(
        v.func, ast.Name | ast.Attribute) and ctx.resolve(v.func) and ctx.resolve(
        v.func) <= _TUPLE_CLASS_FACTORIES]
    if len(classes) + len(tuple_classes) != len(values):
        return f"`{cls.id}`, a name not only bound to the script's own classes"
    family = _family(module, {cls.id})
    for candidate in [*classes, *(c for c in _script_classes(module) if c.name in family)]:
        problem = _not_plain(ctx, module, candidate, set())
        if problem:
            return f"`{cls.id}` ({problem})"
    return None


def _script_classes(module: ast.Module) -> list[ast.ClassDef]:
    return [n for n in ast.walk(module) if isinstance(n, ast.ClassDef)]


def _family(module: ast.Module, names: set[str]) -> set[str]:
    """`names` and the names of every script class that has one of them as a base (by
    name: a class a subject may be an instance of while matching the pattern's class)."""
    family = set(names)
    classes = _script_classes(module)
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if cls.name in family:
                continue
            if any(isinstance(n, ast.Name) and n.id in family
                   for base in cls.bases for n in ast.walk(base)):
                family.add(cls.name)
                changed = True
    return family


def _not_plain(ctx: Context, module: ast.Module, cls: ast.ClassDef, seen: set[int]
               ) -> str | None:
    """Why instances of the script class `cls` may carry attributes of a class the script
    did not define (a library base, a metaclass, a decorator that may replace it)."""
    if id(cls) in seen:
        return None
    seen.add(id(cls))
    if cls.keywords:
        return f"class `{cls.name}` has a metaclass or class keyword"
    for decorator in cls.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if not (isinstance(target, ast.Name | ast.Attribute)
                and ctx.resolve(target) and ctx.resolve(target) <= _PLAIN_DECORATORS):
            return f"class `{cls.name}` has a decorator other than `dataclass`"
    for base in cls.bases:
        if isinstance(base, ast.Name) and ctx.class_named(base):
            values = ctx.binding_values(base) or []
            bases = ctx.class_named(base)
            if len(bases) != len(values):
                return f"base `{base.id}` of `{cls.name}` is not only a script class"
            for parent in bases:
                problem = _not_plain(ctx, module, parent, seen)
                if problem:
                    return problem
            continue
        if isinstance(base, ast.Name | ast.Attribute) and ctx.resolve(base) and (
                ctx.resolve(base) <= _PLAIN_BASES):
            continue
        return f"class `{cls.name}` has a base the script did not define"
    return None
