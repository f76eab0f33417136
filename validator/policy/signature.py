"""The entrypoint: exactly one top-level plain `def evaluate_model(model)`."""

from __future__ import annotations

import libcst as cst

from validator.policy.context import Checker, Context
from validator.policy.names import nfkc
from validator.policy.rules import rule

ENTRYPOINT = "evaluate_model"


class EntrypointChecker(Checker):
    def module_end(self, ctx: Context, module: cst.Module) -> None:
        defs = [stmt for stmt in module.body if _binds(stmt, ENTRYPOINT)]
        if not defs:
            ctx.report("EP010", None, rule("EP010").message)
            return
        if len(defs) > 1:
            ctx.report("EP011", defs[1], f"`{ENTRYPOINT}` is defined more than once")
        entry = defs[0]
        if not isinstance(entry, cst.FunctionDef) or entry.asynchronous is not None:
            ctx.report("EP011", entry, f"`{ENTRYPOINT}` must be a plain `def`")
            return
        problem = signature_problem(entry.params)
        if problem:
            ctx.report("EP011", entry, f"`{ENTRYPOINT}` {problem}")


def signature_problem(params: cst.Parameters) -> str | None:
    """Why the function could not be called as `evaluate_model(model)`."""
    positional = [*params.posonly_params, *params.params]
    required = [p for p in positional if p.default is None]
    if not positional and not isinstance(params.star_arg, cst.Param):
        return "must take one positional parameter, `model`"
    if len(required) > 1:
        return "must need exactly one argument, `model`; give the others defaults"
    if any(p.default is None for p in params.kwonly_params):
        return "has keyword-only parameters without defaults"
    return None


def _binds(stmt: cst.BaseStatement, name: str) -> bool:
    if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
        return nfkc(stmt.name.value) == name
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        targets: list[cst.BaseExpression] = []
        if isinstance(small, cst.Assign):
            targets = [t.target for t in small.targets]
        elif isinstance(small, cst.AnnAssign | cst.AugAssign):
            targets = [small.target]
        if any(isinstance(t, cst.Name) and nfkc(t.value) == name for t in targets):
            return True
    return False
