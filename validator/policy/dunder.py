"""Dunder escapes: `__class__`/`__globals__`/`__subclasses__`... as attributes, names or strings."""

from __future__ import annotations

import ast
import re

from validator.policy.context import Checker, Context
from validator.policy.names import (
    FRAME_ATTR_RE,
    OBJECT_REFLECTION_ATTRS,
    is_dunder,
    is_escape_dunder,
    nfkc,
)
from validator.policy.surface import is_module


class DunderChecker(Checker):
    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        if (isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load)
                and is_dunder(attr)):
            # `Box.__new__ = f`, `del Box.__getattr__`: a class changed outside its body
            # is no longer what its body says (`Box()` may return any object), and on an
            # instance or a library object a dunder is never plain data.
            ctx.report("EP301", node, f"`{attr}` assigned or deleted outside a class body")
            return
        if attr == "__init__":
            ctx.init_reads.append(node)  # judged in module_end, once names resolve
            return
        if (attr in OBJECT_REFLECTION_ATTRS and isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load)):
            ctx.object_reflection.append(node)  # `object.__setattr__(...)`: in module_end
        elif is_escape_dunder(attr) and id(node) not in ctx.class_name_reads:
            ctx.report("EP301", node, f"access to `{attr}`")

    def module_end(self, ctx: Context, module: ast.Module) -> None:
        for node in ctx.init_reads:
            if not _init_of_a_class(ctx, node):
                # `stream.buffer.raw.__init__(path, "wb", True, opener)`: re-running a
                # library object's initialiser rebinds what it wraps (a FileIO to any fd).
                ctx.report("EP301", node, "`__init__` re-run on an object, not called on a class")
        # Only called on the spot on the builtin `object`, where the reflection rules check
        # the call's name argument; taken as a value or on anything else it is an escape.
        for node in ctx.object_reflection:
            if not (ctx.is_callee(node) and ctx.resolve(node.value) == {"builtins.object"}):
                ctx.report("EP301", node, f"access to `{node.attr}`")

    def name(self, ctx: Context, node: ast.Name, name: str) -> None:
        if is_escape_dunder(name):
            ctx.report("EP301", node, f"use of `{name}`")

    def string(self, ctx: Context, node: ast.expr, value: str) -> None:
        """A string is an escape only where it can become an attribute name: as a whole
        (a name kept for `getattr`-like use) or as a format field (`"{0.__globals__}"`).
        Prose that mentions `__dict__` (a docstring, a prompt) is neither."""
        text = nfkc(value)
        # `"{0.tofile}".format(arr)` reads `arr.tofile`: each attribute a field walks meets
        # the rules that judge `x.attr` by its spelling.
        for attr in _format_field_attributes(text):
            ctx.attribute_by_name(node, attr)
        if "_" not in text:
            return
        names = [*_as_attribute_path(text), *_format_field_names(text)]
        bad = {part for part in names if is_escape_dunder(part) or FRAME_ATTR_RE.fullmatch(part)}
        if bad:
            ctx.report("EP302", node, f"string names {', '.join(sorted(bad))}")


def _init_of_a_class(ctx: Context, node: ast.AST) -> bool:
    """`super().__init__`, `Base.__init__` (a script class) or `nn.Module.__init__` (an
    imported name that is not a module): an initialiser taken from a class, which the
    keyword and receiver rules then judge. Anything else (`obj.__init__`, a name given to
    `getattr`) takes it from an object."""
    if not isinstance(node, ast.Attribute):
        return False
    receiver = node.value
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name):
        return ctx.resolve(receiver.func) == {"builtins.super"}
    if isinstance(receiver, ast.Name) and ctx.class_named(receiver):
        return True
    if not isinstance(receiver, ast.Name | ast.Attribute):
        return False
    resolved = ctx.resolve(receiver)
    return bool(resolved) and not any(is_module(name) for name in resolved)


_PATH_RE = re.compile(r"\s*[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*\s*")
_FIELD_RE = re.compile(r"\{([^{}]*)\}")
_FIELD_SPLIT_RE = re.compile(r"[.\[\]!:]")


def _as_attribute_path(text: str) -> list[str]:
    """`"__globals__"` or `"__class__.__base__"`: the parts, else nothing."""
    if not _PATH_RE.fullmatch(text):
        return []
    return [part.strip() for part in text.split(".")]


def _format_field_names(text: str) -> list[str]:
    """Every name a format field of `text` may look up (`{0.__class__[x]}`); innermost
    fields, so a field nested in a format spec counts too."""
    if "{" not in text:
        return []
    fields = _FIELD_RE.findall(text)
    return [part.strip() for field in fields for part in _FIELD_SPLIT_RE.split(field)]


_FIELD_ATTR_RE = re.compile(r"\.\s*([A-Za-z_]\w*)")


def _format_field_attributes(text: str) -> list[str]:
    """The attribute names format fields of `text` walk (`{0.config.save_pretrained}`)."""
    if "{" not in text:
        return []
    return [attr for field in _FIELD_RE.findall(text) for attr in _FIELD_ATTR_RE.findall(field)]
