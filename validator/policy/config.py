"""Per-tenant validation policy: extra imports, severity overrides, disabled rules."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.config import JsonDict

from validator.findings import Finding, Severity
from validator.policy.names import DENIED_MODULES, root_module
from validator.policy.rules import RULES

_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_BANDIT_RE = re.compile(r"^B[0-9]{3}$")


def _check_module(name: str) -> str:
    if not _MODULE_RE.match(name):
        raise ValueError(f"{name!r} is not a dotted module name")
    if root_module(name) in DENIED_MODULES:
        raise ValueError(f"{name!r} is denied for every tenant and cannot be allowed")
    return name


def _check_rule_id(rule_id: str) -> str:
    if _BANDIT_RE.match(rule_id):
        return rule_id
    rule = RULES.get(rule_id)
    if rule is None:
        raise ValueError(f"unknown rule id {rule_id!r}")
    if not rule.overridable:
        raise ValueError(f"rule {rule_id} ({rule.name}) cannot be overridden")
    return rule_id


# The two checks above, stated in the API's schema.
_RULE_SCHEMA = {"type": "string", "anyOf": [
    {"enum": sorted(rule_id for rule_id, rule in RULES.items() if rule.overridable)},
    {"pattern": _BANDIT_RE.pattern}]}
AllowedModule = Annotated[str, AfterValidator(_check_module), WithJsonSchema({
    "type": "string", "pattern": _MODULE_RE.pattern,
    "not": {"pattern": "^(" + "|".join(sorted(map(re.escape, DENIED_MODULES))) + r")(\.|$)"},
})]
OverridableRule = Annotated[str, AfterValidator(_check_rule_id), WithJsonSchema(_RULE_SCHEMA)]


def _any_order(schema: JsonDict) -> None:
    """A set: repeated items are taken once, not refused."""
    schema.pop("uniqueItems", None)


class Policy(BaseModel):
    """How strict validation is for one tenant. The default is the strictest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    extra_allowed_imports: frozenset[AllowedModule] = Field(
        default=frozenset(), json_schema_extra=_any_order,
        description="Modules (and their submodules) allowed on top of the built-in allowlist.",
    )
    severity_overrides: dict[OverridableRule, Severity] = Field(
        default_factory=dict,
        description='New severity per overridable rule, e.g. {"EP101": "warning"}.',
    )
    disabled_rules: frozenset[OverridableRule] = Field(
        default=frozenset(), json_schema_extra=_any_order,
        description="Overridable rules whose findings are dropped.",
    )

    def allows_import(self, module: str) -> bool:
        return any(
            module == extra or module.startswith(extra + ".")
            for extra in self.extra_allowed_imports
        )


DEFAULT_POLICY = Policy()


def apply_policy(findings: list[Finding], policy: Policy) -> list[Finding]:
    """Drop disabled rules and apply severity overrides (validated as overridable)."""
    out: list[Finding] = []
    for finding in findings:
        if finding.rule in policy.disabled_rules:
            continue
        severity = policy.severity_overrides.get(finding.rule)
        if severity is not None:
            finding = finding.model_copy(update={"severity": severity})
        out.append(finding)
    return out
