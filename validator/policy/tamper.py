"""Changing an imported module: `json.dumps = f` rebinds the harness's `json` too.

A script shares every module object (and every object reached from one by attribute:
`logging.root`, `torch.nn.functional`) with the harness and the runtime that run it in the
same interpreter, so assigning, deleting or item-assigning an attribute there changes code
they call after the script returns. No audit event marks it, so the static check is the
wall. A few process-wide backend flags real evaluation scripts set are allowed. Objects a
call hands out (`logging.getLogger().manager`) are followed by `shared.py`.
"""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context
from validator.policy.names import OBJECT_SETTERS, root_module
from validator.policy.shared import OWN_LOGGER_ATTRS, OWN_LOGGER_LISTS, Origin, SharedObjects
from validator.policy.surface import is_module

# Flags set by plain `=` in evaluation scripts for reproducibility or speed; each is a
# property that takes a bool and changes only numerics.
ALLOWED_MODULE_STORES: Final = frozenset(
    {
        "torch.backends.cudnn.deterministic", "torch.backends.cudnn.benchmark",
        "torch.backends.cudnn.enabled", "torch.backends.cudnn.allow_tf32",
        "torch.backends.cuda.matmul.allow_tf32",
        "torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
        "torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction",
    }
)
_SETTERS: Final = frozenset({"builtins.setattr", "builtins.delattr", *OBJECT_SETTERS})
# Methods that change a list, dict or set in place (`logging.root.handlers.clear()`).
_MUTATORS: Final = frozenset(
    {"append", "extend", "insert", "update", "clear", "pop", "popitem", "remove",
     "setdefault", "discard", "add", "sort", "reverse"}
)
# Functions that change their first argument in place (`operator.setitem(d, k, v)`).
_IN_PLACE: Final = frozenset(
    {"operator.setitem", "operator.delitem", "operator.iadd", "operator.iconcat",
     "operator.ior", "operator.iand", "operator.ixor", "operator.isub"}
)


class ModuleTamperChecker(Checker):
    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            changed = sorted(names - ALLOWED_MODULE_STORES
                             if isinstance(node.ctx, ast.Store) else names)
            if changed:
                verb = "deleted" if isinstance(node.ctx, ast.Del) else "assigned"
                ctx.report("EP109", node, f"`{changed[0]}` {verb}: it changes a module the "
                           "harness shares with the script")
        elif id(node) in ctx.item_store_bases:
            ctx.report("EP109", node, f"items of `{sorted(names)[0]}` changed: it belongs to "
                       "a module the harness shares with the script")
        elif (isinstance(node, ast.Attribute) and node.attr in _MUTATORS
              and ctx.is_callee(node)):
            bases = sorted(b for b in (n.rsplit(".", 1)[0] for n in names) if _module_value(b))
            if bases:
                ctx.report("EP109", node, f"`{bases[0]}.{node.attr}()` changes an object of a "
                           "module the harness shares with the script")

    def call(self, ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
        if not node.args or isinstance(node.args[0], ast.Starred):
            return
        if callee & _SETTERS:
            target = ctx.resolve(node.args[0])
            if target:
                ctx.report("EP109", node, f"`setattr`/`delattr` on `{sorted(target)[0]}` "
                           "changes a module the harness shares with the script")
        elif callee & _IN_PLACE or any(n.rsplit(".", 1)[-1] in _MUTATORS for n in callee):
            # `list.clear(logging.root.handlers)`: the method applied to the shared object.
            shared = sorted(n for n in ctx.resolve(node.args[0]) if _module_value(n))
            if shared:
                ctx.report("EP109", node, f"`{shared[0]}` changed in place: it belongs to a "
                           "module the harness shares with the script")

    def module_end(self, ctx: Context, module: ast.Module) -> None:
        shared = SharedObjects(ctx)

        def changed(target: ast.expr) -> bool:
            origin = shared.origin(target)
            return origin in (Origin.SHARED, Origin.OWN) and not shared.own_list(target)

        assigned: dict[int, ast.expr] = {}  # `x.attr = value`, `: T = value`, `+= value`
        stores: list[ast.Attribute] = []
        for node in ast.walk(module):
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.value:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                assigned.update((id(t), node.value) for t in targets)
            if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
                stores.append(node)
            elif (isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load)
                  and changed(node.value)):
                ctx.report("EP109", node, "items changed of an object the runtime shares "
                           "with the script (a call handed it out)")
        for node in stores:
            _check_store(ctx, shared, node, assigned.get(id(node)))
        for call in ctx.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in _MUTATORS and changed(func.value):
                ctx.report("EP109", call, f"`.{func.attr}()` changes an object the runtime "
                           "shares with the script (a call handed it out)")
            elif (call.args and not isinstance(call.args[0], ast.Starred)
                  and ctx.resolve(func) & (_SETTERS | _IN_PLACE) and changed(call.args[0])):
                ctx.report("EP109", call, "an object the runtime shares with the script (a "
                           "call handed it out) changed by `setattr`/`delattr` or in place")


def _check_store(ctx: Context, shared: SharedObjects, node: ast.Attribute,
                 value: ast.expr | None) -> None:
    """`x.attr = value` (or `del`, `+=`, a `for`/`with` target) where `x` may be an object
    a call handed out."""
    origin = shared.origin(node.value)
    if origin is Origin.SHARED:
        ctx.report("EP109", node, f"`.{node.attr}` set on an object a call handed out that "
                   "the runtime shares with the script (the root or a runtime logger, the "
                   "logging registry, a handler)")
    elif origin is Origin.OWN and node.attr not in OWN_LOGGER_ATTRS:
        ctx.report("EP109", node, f"`.{node.attr}` set on a logger: only "
                   f"{', '.join(sorted(OWN_LOGGER_ATTRS))} may be set on the script's own")
    elif origin is Origin.OWN and node.attr in OWN_LOGGER_LISTS and not isinstance(
            node.ctx, ast.Del) and (value is None or shared.origin(value) in (
                Origin.SHARED, Origin.OWN)):
        # `own.handlers = logging.root.handlers` would make the root's list the one the
        # script may then change in place as its own.
        ctx.report("EP109", node, f"`.{node.attr}` of the script's own logger set to a list "
                   "the analysis cannot see to be a new one")


def _module_value(dotted: str) -> bool:
    """A value reached from a module by attributes (`logging.root.handlers`), not a module
    (`numpy` in `numpy.append(...)`), a builtin, or a class whose unbound method is called
    on the script's own object (`collections.Counter.update(counts, more)`)."""
    if root_module(dotted) == "builtins" or "." not in dotted or is_module(dotted):
        return False
    return not dotted.rsplit(".", 1)[-1][:1].isupper()
