"""Dunder escapes: `__class__`/`__globals__`/`__subclasses__`... as attributes, names or strings."""

from __future__ import annotations

import ast

from validator.policy.context import Checker, Context
from validator.policy.names import DUNDER_RE, FRAME_ATTR_RE, is_escape_dunder, nfkc


class DunderChecker(Checker):
    def attribute(self, ctx: Context, node: ast.Attribute, attr: str) -> None:
        if is_escape_dunder(attr):
            ctx.report("EP301", node, f"access to `{attr}`")

    def name(self, ctx: Context, node: ast.Name, name: str) -> None:
        if is_escape_dunder(name):
            ctx.report("EP301", node, f"use of `{name}`")

    def string(self, ctx: Context, node: ast.expr, value: str) -> None:
        text = nfkc(value)
        if "_" not in text:
            return
        dunders = [m for m in DUNDER_RE.findall(text) if is_escape_dunder(m)]
        frames = FRAME_ATTR_RE.findall(text)
        if dunders or frames:
            shown = ", ".join(sorted({*dunders, *frames}))
            ctx.report("EP302", node, f"string mentions {shown}")
