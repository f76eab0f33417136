"""`sys.stdout` / `sys.stderr` as values: handed only to library code that writes to them.

On the streams themselves only the text surface is reachable (`names.STREAM_SURFACE`,
EP104); a stream passed to the script's own code or stored in a container would carry its
binary layers (`.buffer`, `.raw`: an `io.FileIO` on the descriptor) past that check.
A parameter's default (`def log(msg, stream=sys.stderr)`) is the one place a script's own
code may receive a stream: every use of the parameter resolves to the stream through the
default, so each meets the checks a use of `sys.stderr` written out would. An alias is a
plain name in a function or the module; in a class body it becomes a class attribute
(`K.s`), which no use resolves to the stream.

Library objects keep the streams they were handed (`logging.StreamHandler(...).stream`,
`logging.lastResort.stream`, a tqdm bar's `.fp`, what `handler.setStream` returns, what a
`contextlib.redirect_stdout(sys.stderr)` enters), and none of them names `sys`.
So the attributes that hold a stream or its binary layers (`STREAM_LAYER_ATTRS`) are read
only from objects the script made (`reach.script_made`: a class attribute or dataclass field
of that name is fine, as no stream can reach one), `setStream` is not called, and a
redirect of a target the script did not make is only a plain `with` item.
"""

from __future__ import annotations

import ast
from typing import Final

from validator.policy.context import Checker, Context
from validator.policy.reach import script_instance, script_made

_STREAMS: Final = frozenset({"sys.stdout", "sys.stderr"})
_STREAM_KEYWORDS: Final = frozenset({"file", "stream"})
# Library callables that write to a stream they are given and never hand it back to the
# script (a generic one, `functools.partial(f, sys.stderr)`, would pass it on).
STREAM_CONSUMERS: Final = frozenset(
    {"builtins.print", "json.dump", "pprint.pprint", "pprint.pp", "pprint.PrettyPrinter",
     "logging.StreamHandler", "logging.basicConfig", "contextlib.redirect_stdout",
     "contextlib.redirect_stderr", "tqdm.tqdm", "tqdm.trange", "tqdm.auto.tqdm",
     "tqdm.auto.trange", "tqdm.std.tqdm"}
)


# Attributes of library objects that hold a stream (`StreamHandler.stream`, tqdm's `fp`,
# `PrettyPrinter._stream`) or a stream's binary layers (`.buffer`, `.raw`), and
# `Handler.setStream`, which returns the stream it replaces.
STREAM_LAYER_ATTRS: Final = frozenset({"stream", "_stream", "fp", "buffer", "raw", "setStream"})
_REDIRECTS: Final = frozenset({"contextlib.redirect_stdout", "contextlib.redirect_stderr"})


class StreamChecker(Checker):
    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        if (names & _STREAMS and id(node) not in ctx.attribute_bases
                and not ctx.is_callee(node)):
            ctx.stream_values.append(node)

    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        if attr in STREAM_LAYER_ATTRS:
            ctx.stream_layer_reads.append((node, attr))

    def module_end(self, ctx: Context, module: ast.Module) -> None:
        for node, attr in ctx.stream_layer_reads:
            if not (isinstance(node, ast.Attribute) and attr != "setStream"
                    and script_made(ctx, node.value, attr)):
                ctx.report("EP104", node, f"`.{attr}` of an object the script did not make "
                           "(a library object's stream or a stream's binary layer)")
        _check_redirects(ctx, module)
        if not ctx.stream_values:
            return
        parents: dict[int, ast.AST] = {}
        for node in ast.walk(module):
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node
        for node in ctx.stream_values:
            if not _handed_to_library(ctx, node, parents):
                ctx.report("EP104", node, "`sys.stdout`/`sys.stderr` passed where the analysis "
                           "cannot follow it (only to library calls, as `file=`/`stream=` or "
                           "an argument, or aliased by a plain name)")


def _check_redirects(ctx: Context, module: ast.Module) -> None:
    """`contextlib.redirect_stdout(target)` (or `redirect_stderr`) keeps `target` and hands
    it back from `__enter__`: unless `target` is script-made, the redirect is only a `with`
    item without `as` (not bound by `as`, entered by `ExitStack.enter_context`, or kept)."""
    plain: set[int] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.With | ast.AsyncWith):
            plain.update(id(i.context_expr) for i in node.items if i.optional_vars is None)
    for call in ctx.calls:
        if not ctx.resolve(call.func) & _REDIRECTS or id(call) in plain:
            continue
        target = call.args[0] if call.args else next(
            (k.value for k in call.keywords if k.arg == "new_target"), None)
        if target is None or not script_instance(ctx, target):
            ctx.report("EP104", call, "a redirect of a target the script did not make (a "
                       "stream) used other than as a plain `with` item: its `as`, "
                       "`enter_context` or the kept object hands the target back")


def _handed_to_library(ctx: Context, node: ast.expr, parents: dict[int, ast.AST]) -> bool:
    parent = parents.get(id(node))
    if isinstance(parent, ast.Assign):  # an alias: its uses resolve to the stream again
        return all(isinstance(t, ast.Name) for t in parent.targets) and not _in_class_body(
            parent, parents)
    if isinstance(parent, ast.Compare):
        return True
    if isinstance(parent, ast.arguments):
        return _followed_default(ctx, node, parent)
    if isinstance(parent, ast.keyword):
        call = parents.get(id(parent))
        if not isinstance(call, ast.Call) or parent.arg is None:
            return False
        return ((parent.arg in _STREAM_KEYWORDS and _library_callee(ctx, call.func))
                or _stream_parameter(ctx, call, parent.arg))
    if isinstance(parent, ast.Call) and any(a is node for a in parent.args):
        index = next(i for i, a in enumerate(parent.args) if a is node)
        return _library_callee(ctx, parent.func) or _stream_parameter(ctx, parent, index)
    return False


def _in_class_body(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """Whether `node` runs in a class body (its names become class attributes)."""
    parent = parents.get(id(node))
    while parent is not None:
        if isinstance(parent, ast.ClassDef):
            return True
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return False
        parent = parents.get(id(parent))
    return False


def _stream_parameter(ctx: Context, call: ast.Call, where: str | int) -> bool:
    """`log("x", stream=sys.stdout)` where `log` is only ever an undecorated `def` whose
    parameter there defaults to a stream (and passes `_followed_default`): every use of it
    is judged as a stream already, whichever stream the caller passes."""
    if not isinstance(call.func, ast.Name):
        return False
    if isinstance(where, int) and any(isinstance(a, ast.Starred) for a in call.args[:where]):
        return False
    defs = ctx.only_defs(call.func)
    if not defs:
        return False
    for function in defs:
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        if isinstance(where, int):
            if where >= len(positional):
                return False
            parameter = positional[where].arg
        elif where in {a.arg for a in args.posonlyargs}:
            return False
        else:
            parameter = where
        default = _default_of(args, parameter)
        if (function.decorator_list or default is None
                or not ctx.resolve(default) or not ctx.resolve(default) <= _STREAMS
                or not _followed_default(ctx, default, args)):
            return False
    return True


def _default_of(args: ast.arguments, parameter: str) -> ast.expr | None:
    positional = [*args.posonlyargs, *args.args]
    offset = len(positional) - len(args.defaults)
    for index, value in enumerate(args.defaults):
        if positional[offset + index].arg == parameter:
            return value
    for argument, kw_value in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if argument.arg == parameter:
            return kw_value
    return None


def _followed_default(ctx: Context, node: ast.expr, args: ast.arguments) -> bool:
    """`stream=sys.stderr` as a `def`'s default, when every use of the parameter is judged
    as the stream itself (each resolves to it): `print(msg, file=stream)` passes,
    `stream.buffer`, `stream.fileno()`, `return stream` or `self.s = stream` do not. A
    lambda's default stays refused (its block is not tracked)."""
    parameter = _parameter_with_default(args, node)
    block = next((block_id for block_id, (definition, _) in ctx.def_blocks.items()
                  if definition.args is args), None)
    if parameter is None or block is None:
        return False
    for use in ctx.loaded_names():
        site = ctx.name_site(use) if use.id == parameter else None
        if site is not None and id(site[0]) == block and not ctx.resolve(use) & _STREAMS:
            return False  # a use the stream checks would not see
    return True


def _parameter_with_default(args: ast.arguments, default: ast.expr) -> str | None:
    positional = [*args.posonlyargs, *args.args]
    offset = len(positional) - len(args.defaults)
    for index, value in enumerate(args.defaults):
        if value is default:
            return positional[offset + index].arg
    for parameter, kw_value in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if kw_value is default:
            return parameter.arg
    return None


def _library_callee(ctx: Context, func: ast.expr) -> bool:
    """`print`, `logging.StreamHandler`, `tqdm.tqdm`: a stream consumer that no binding of
    the script can stand in for."""
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    callee = ctx.resolve(func)
    if not isinstance(root, ast.Name) or not callee or not callee <= STREAM_CONSUMERS:
        return False
    if root.id not in ctx.names_bound_anywhere:
        return True  # a builtin
    values = ctx.binding_values(root)
    return bool(values) and all(isinstance(v, str) for v in values or ())  # imports only
