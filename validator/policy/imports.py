"""Import policy: allowlist, denylist, star imports, denied and private APIs of allowed packages."""

from __future__ import annotations

import ast

from validator.policy.context import Checker, Context
from validator.policy.names import (
    ALLOWED_MODULES,
    DENIED_MODULES,
    FIELD_LIKE_ATTRS,
    MODULE_HANDLE_ATTRS,
    RESTRICTED_MODULES,
    SMUGGLING_ATTRS,
    denied_api,
    private_member,
    restricted_use,
    root_module,
    smuggled_module,
)
from validator.policy.surface import unlisted


def check_module_path(ctx: Context, node: ast.AST, qualified: str) -> None:
    """Denied APIs, denied modules smuggled through allowed ones, and private members."""
    if root_module(qualified) == "builtins":
        return
    api = denied_api(qualified) or restricted_use(qualified)
    smuggled = smuggled_module(qualified)
    private = private_member(qualified)
    if api:
        ctx.report("EP104", node, f"use of denied API `{api}`")
    elif smuggled:
        ctx.report("EP104", node, f"`{qualified}` reaches the denied module `{smuggled}`")
    elif private:
        ctx.report("EP105", node, f"`{qualified}` uses the private member `{private}`")
    else:
        outside = unlisted(qualified)
        if outside and not ctx.policy.allows_import(outside):
            ctx.report("EP107", node, f"`{outside}` is not on the allowlist of "
                       f"`{root_module(qualified)}`")


class ImportChecker(Checker):
    def import_(self, ctx: Context, node: ast.Import) -> None:
        for alias in node.names:
            module = alias.name  # identifiers come NFKC-normalised from the parser
            ctx.imported_modules.update({module, module if alias.asname else root_module(module)})
            self._module(ctx, alias, module)

    def import_from(self, ctx: Context, node: ast.ImportFrom) -> None:
        if node.level:
            ctx.report("EP101", node, "relative imports have no package to resolve against")
            return
        module = node.module or ""
        self._module(ctx, node, module)
        for alias in node.names:
            if alias.name == "*":
                ctx.report("EP103", node, f"`from {module} import *`")
            else:
                check_module_path(ctx, alias, f"{module}.{alias.name}")

    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        if attr in FIELD_LIKE_ATTRS:
            # On a module path this is EP104 through `check_module_path`.
            ctx.report("EP108", node, f"attribute `{attr}` is named like a denied module")
        elif attr.lstrip("_") in SMUGGLING_ATTRS:
            ctx.report("EP104", node, f"attribute `{attr}` reaches a denied module")
        elif attr in MODULE_HANDLE_ATTRS:
            ctx.report("EP104", node, f"attribute `{attr}` holds a module object")

    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        for name in names:
            if "." in name:
                check_module_path(ctx, node, name)
        # Aliases are only tracked through plain names, so a module must not escape into
        # attributes, containers or arguments where `m.hub` could no longer be resolved.
        used_as_value = (id(node) not in ctx.attribute_bases and not ctx.is_callee(node)
                         and not ctx.is_literal_lookup_base(node))
        if used_as_value and isinstance(node, ast.Name) and names & ctx.imported_modules:
            module = sorted(names & ctx.imported_modules)[0]
            ctx.report("EP106", node, f"module `{module}` used as a value")

    def _module(self, ctx: Context, node: ast.AST, module: str) -> None:
        root = root_module(module)
        if module in RESTRICTED_MODULES:
            return  # `import sys`: only its listed values may be used (check_module_path)
        if root in DENIED_MODULES:
            ctx.report("EP102", node, f"import of denied module `{module}`")
        elif root in ALLOWED_MODULES or ctx.policy.allows_import(module):
            check_module_path(ctx, node, module)
        else:
            ctx.report("EP101", node, f"import of `{module}`, which is not on the allowlist")
