"""Static-analysis verdicts reused by content: one script under one policy is analysed once.

The batch and benchmark paths submit one script against many models; each submission
still gets its own trial run (its model's shadow differs, and a trial is a run of hostile
code whose behaviour need not repeat), but the static analysis of identical text under an
identical policy and analyser is a pure function, so its report is kept in Redis and
reused.

The key is sha256(script) + the policy's version (a hash of its canonical JSON) + the
analyser's version (a hash of the validator's own sources and bandit's version), scoped
to the tenant so the speed of a validation never tells a tenant that another submitted
the same text (CONTRIBUTING 9). Invalidation: changing a tenant's policy changes its
version, so the next submit misses and is analysed afresh; changing any analyser code
or bandit changes the analyser version. Entries expire after `VERDICT_TTL_S` either way.

Fail closed (CONTRIBUTING 8): an analyser failure (EP900/EP901) is never stored, and a
Redis error or an unreadable entry means "analyse again", never "pass".
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from validator.analysis import StaticReport, analyse_script
from validator.policy.config import Policy

log = logging.getLogger("evalpod.validator")
KEY_PREFIX: Final = "evalpod:verdict:"
VERDICT_TTL_S: Final = 7 * 86_400
# Analyser failures depend on the host's load, not on the script: never reused.
UNSTABLE_RULES: Final = frozenset({"EP900", "EP901"})
_VALIDATOR_DIR: Final = Path(__file__).resolve().parent


@cache
def analyser_version() -> str:
    """A hash of every source the static analysis depends on: this package's files
    (rules, policy engine, surface data) and bandit's version. 16 hex digits."""
    import bandit

    digest = hashlib.sha256(str(getattr(bandit, "__version__", "?")).encode())
    for path in sorted(_VALIDATOR_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".json"}:
            digest.update(str(path.relative_to(_VALIDATOR_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def policy_version(policy: Policy) -> str:
    """A hash of the policy's canonical JSON (sets sorted): equal policies, equal versions."""
    dumped = policy.model_dump(mode="json")
    canonical = {key: sorted(value) if isinstance(value, list) else value
                 for key, value in dumped.items()}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:16]


def verdict_key(tenant_id: str | None, script: str, policy: Policy) -> str:
    script_hash = hashlib.sha256(script.encode("utf-8", "surrogatepass")).hexdigest()
    return (f"{KEY_PREFIX}{analyser_version()}:{policy_version(policy)}:"
            f"{tenant_id or '-'}:{script_hash}")


@dataclass(frozen=True)
class Verdict:
    """A static-analysis report and whether it was reused rather than computed now."""

    report: StaticReport
    reused: bool


async def static_verdict(redis: Redis, tenant_id: str | None, script: str, policy: Policy
                         ) -> Verdict:
    """The static analysis of `script` under `policy`: the stored verdict of an identical
    earlier submission of this tenant, else `analyse_script` in a thread (then stored).
    Never raises for Redis: without it every script is analysed."""
    key = verdict_key(tenant_id, script, policy)
    try:
        stored = await redis.get(key)
    except (RedisError, OSError) as exc:
        log.warning("verdict cache unreadable, analysing afresh: %s", exc)
        stored = None
    if stored is not None:
        try:
            return Verdict(StaticReport.model_validate_json(stored), reused=True)
        except ValidationError:
            log.warning("verdict cache entry %s unreadable, analysing afresh", key)
    report = await asyncio.to_thread(analyse_script, script, policy)
    if not any(f.rule in UNSTABLE_RULES for f in report.findings):
        try:
            await redis.set(key, report.model_dump_json(), ex=VERDICT_TTL_S)
        except (RedisError, OSError) as exc:
            log.warning("verdict not stored: %s", exc)
    return Verdict(report, reused=False)
