"""The entrypoint: exactly one top-level plain `def evaluate_model(model[, data])`."""

from __future__ import annotations

import ast

from validator.policy.context import Checker, Context
from validator.policy.rules import rule

ENTRYPOINT = "evaluate_model"


class EntrypointChecker(Checker):
    def module_end(self, ctx: Context, module: ast.Module) -> None:
        defs = [stmt for stmt in module.body if binds(stmt, ENTRYPOINT)]
        if not defs:
            ctx.report("EP010", None, rule("EP010").message)
            return
        if len(defs) > 1:
            ctx.report("EP011", defs[1], f"`{ENTRYPOINT}` is defined more than once")
        entry = defs[0]
        if not isinstance(entry, ast.FunctionDef):
            ctx.report("EP011", entry, f"`{ENTRYPOINT}` must be a plain `def`")
            return
        problem = signature_problem(entry.args)
        if problem:
            ctx.report("EP011", entry, f"`{ENTRYPOINT}` {problem}")


def signature_problem(args: ast.arguments) -> str | None:
    """Why the function could not be called as `evaluate_model(model)`."""
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    if not positional and args.vararg is None:
        return "must take one positional parameter, `model`"
    if required > 2:  # evaluate_model(model) or evaluate_model(model, data) (datasets)
        return ("must need one argument, `model`, or two, `model` and `data`; give the "
                "others defaults")
    if any(default is None for default in args.kw_defaults):
        return "has keyword-only parameters without defaults"
    return None


def binds(stmt: ast.stmt, name: str) -> bool:
    """Whether a top-level statement binds `name` by `def`, `class` or assignment."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return stmt.name == name
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        targets = [stmt.target]
    return any(isinstance(t, ast.Name) and t.id == name for t in targets)
