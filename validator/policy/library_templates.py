"""Templates that allowed libraries format over objects, deep in their own frames.

`logging` with `style="{"` and tqdm's `bar_format` are `str.format` templates over a log
record's or a progress bar's values (and, for tqdm, any extra keyword the script passes):
`"{msg.__init__.__globals__}"` walks attributes there, several frames away from the
script, where the runtime guard's proximity rule does not look. So such a template must be
a literal (whose fields the string rules check) wherever it enters: as an argument, or
stored into the attribute the library reads it from.
"""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context

# Keyword arguments that are a `{`-style template (tqdm's bar, and its format_meter).
_TEMPLATE_KEYWORDS: Final = frozenset({"bar_format"})
# Attributes the libraries read a template from (logging.Formatter._fmt / ._style,
# tqdm.bar_format): only ever assigned a literal.
_TEMPLATE_ATTRS: Final = frozenset({"_fmt", "_style", "bar_format"})
_STYLE_TEMPLATES: Final = ("fmt", "format")  # the template a `style=` keyword applies to
_SAFE_STYLES: Final = frozenset({"%", "$"})  # name lookups only, no attribute walk
# tqdm.format_meter(n, total, elapsed, ncols, prefix, ascii, unit, unit_scale, rate,
# bar_format, ...): the template's position.
_FORMAT_METER_TEMPLATE: Final = 9
_LOGGING_CONFIG: Final = "logging.basicConfig"
_LOGGING_FORMATTER: Final = "logging.Formatter"


class LibraryTemplateChecker(Checker):
    def call(self, ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
        keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
        unpacked = any(k.arg is None for k in node.keywords)
        for name in _TEMPLATE_KEYWORDS & keywords.keys():
            if not ctx.is_literal_str(keywords[name]):
                ctx.report("EP202", node, f"`{name}` must be a literal template")
        if isinstance(node.func, ast.Attribute) and node.func.attr == "format_meter" and (
                len(node.args) > _FORMAT_METER_TEMPLATE or unpacked):
            template = (node.args[_FORMAT_METER_TEMPLATE]
                        if len(node.args) > _FORMAT_METER_TEMPLATE else None)
            if template is None or not ctx.is_literal_str(template):
                ctx.report("EP202", node, "`format_meter` with a template that is not a literal")
        if _LOGGING_CONFIG in callee and "filename" in keywords:
            ctx.report("EP401", node, "`logging.basicConfig(filename=...)` opens a file")
        self._style(ctx, node, callee, keywords, unpacked)
        if "builtins.setattr" in callee and len(node.args) == 3:
            attr = ctx.literal_str(node.args[1])
            if attr in _TEMPLATE_ATTRS and not ctx.is_literal_str(node.args[2]):
                ctx.report("EP202", node, f"`{attr}` set to a template that is not a literal")

    @staticmethod
    def _style(ctx: Context, node: ast.Call, callee: frozenset[str],
               keywords: dict[str, ast.expr], unpacked: bool) -> None:
        """`style="{"` (by keyword on any call, so a Formatter subclass's `super().__init__`
        too; by position on `logging.Formatter`) needs a literal format."""
        logging_call = bool(callee & {_LOGGING_CONFIG, _LOGGING_FORMATTER})
        if logging_call and (unpacked or any(isinstance(a, ast.Starred) for a in node.args)):
            ctx.report("EP202", node, "logging format and style passed by unpacking")
            return
        formatter = _LOGGING_FORMATTER in callee
        style = keywords.get("style")
        if style is None and formatter and len(node.args) > 2:
            style = node.args[2]
        if style is None or ctx.literal_str(style) in _SAFE_STYLES:
            return
        template = next((keywords[k] for k in _STYLE_TEMPLATES if k in keywords), None)
        if template is None and node.args and (formatter or not logging_call):
            template = node.args[0]
        if template is not None and not ctx.is_literal_str(template):
            ctx.report("EP202", node, "a `{`-style format must be a literal template")

    def module_end(self, ctx: Context, module: ast.Module) -> None:
        for attr in sorted(_TEMPLATE_ATTRS):
            for value in ctx.attribute_stores.get(attr, ()):
                if not ctx.is_literal_str(value):
                    ctx.report("EP202", value, f"`.{attr}` set to a template that is not a "
                               "literal")
