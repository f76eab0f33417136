"""bandit as a library: one BanditManager per process, `# nosec` ignored, issues as findings."""

from __future__ import annotations

import io
import logging
import threading
from typing import Any, Final

from bandit.core import config as b_config
from bandit.core import manager as b_manager
from bandit.core import meta_ast as b_meta_ast
from bandit.core import metrics as b_metrics

from validator.findings import Finding, Severity
from validator.policy.rules import rule

SCRIPT_NAME: Final = "<script>"
_RANK: Final = {"UNDEFINED": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
# Low-severity tests that are still worth showing as warnings (import of risky modules).
_VISIBLE_LOW: Final = frozenset({"B401", "B402", "B403", "B404", "B405", "B406", "B407",
                                 "B408", "B409", "B410", "B411", "B412", "B413", "B415"})

# Tests whose issues never block, with why. Weak hashes (B324: md5/sha1) de-duplicate
# prompts and seed shuffles in evaluation code; inside the sandbox no hash guards anything.
# A hard-coded temp dir (B108: "/tmp/...") names the sandbox's own private scratch
# directory, the documented place for caches; which paths a job may open is the runtime
# guard's and Landlock's call, not a literal's (and "/t" + "mp" evades B108 anyway).
_DOWNGRADED: Final[dict[str, Severity]] = {"B324": "warning", "B108": "info"}

_lock = threading.Lock()
_manager: b_manager.BanditManager | None = None


def bandit_severity(test_id: str, severity: str, confidence: str) -> Severity:
    """MEDIUM+ severity at MEDIUM+ confidence blocks; other import checks warn; the rest inform."""
    if test_id in _DOWNGRADED:
        return _DOWNGRADED[test_id]
    sev, conf = _RANK.get(severity, 0), _RANK.get(confidence, 0)
    if sev >= 2 and conf >= 2:
        return "error"
    if sev >= 2 or test_id in _VISIBLE_LOW:
        return "warning"
    return "info"


def _get_manager() -> b_manager.BanditManager:
    global _manager
    if _manager is None:
        logging.getLogger("bandit").setLevel(logging.CRITICAL)
        _manager = b_manager.BanditManager(
            b_config.BanditConfig(), "file", quiet=True, ignore_nosec=True
        )
    return _manager


def warm_up() -> None:
    """Pay bandit's plugin loading (stevedore entry points) once, up front."""
    with _lock:
        _get_manager()


def scan(source: str) -> list[Finding]:
    """bandit findings for `source`; a file bandit skips is an error finding, never clean."""
    with _lock:
        manager = _get_manager()
        _reset(manager)
        data = source.encode("utf-8", "surrogatepass")
        manager._parse_file(SCRIPT_NAME, io.BytesIO(data), [SCRIPT_NAME])
        skipped = list(manager.skipped)
        issues = list(manager.results)
    if skipped:
        reason = "; ".join(str(why) for _, why in skipped)
        return [rule("EP902").finding(f"bandit skipped the script: {reason}")]
    return [_finding(issue) for issue in issues]


def _reset(manager: b_manager.BanditManager) -> None:
    manager.results = []
    manager.skipped = []
    manager.scores = []
    manager.files_list = [SCRIPT_NAME]
    manager.metrics = b_metrics.Metrics()
    manager.b_ma = b_meta_ast.BanditMetaAst()


def _finding(issue: Any) -> Finding:
    test_id = str(issue.test_id)
    return Finding(
        rule=test_id,
        severity=bandit_severity(test_id, str(issue.severity), str(issue.confidence)),
        message=f"bandit {issue.test}: {issue.text} "
        f"(severity {issue.severity}, confidence {issue.confidence})",
        hint="See https://bandit.readthedocs.io for this check.",
        line=int(issue.lineno),
        column=int(issue.col_offset) + 1,
    )
