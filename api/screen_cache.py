"""The quick screen's verdicts, remembered per script content (issue 15, item 2).

The batch and benchmark paths submit one script against many models, and clients retry:
the screen of an identical script gives the same findings, so it is looked up instead of
walked again. The parse stays on the request path (it is the syntax check, and the data
request check reads its tree); only the screen's verdict is reused.

What the verdict depends on, and so the key: the script's text (its SHA-256) and the
policy it was screened under (its canonical JSON; `None` is the default policy). Nothing
else reaches `validator.screen.quick_screen`: no setting, no tenant, no clock. The screen's
code and rule catalogue are fixed for the life of a process, and this cache lives in one
process; the screen function itself is part of the key all the same, so a screen swapped
at run time (a test's patch) does not answer from another screen's verdicts.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from validator.findings import Finding
from validator.policy.config import Policy
from validator.screen import quick_screen

Screen = Callable[[ast.Module, Policy | None, str | None], list[Finding]]
_Key = tuple[str, str, Screen]

# A verdict is a handful of findings (none for a script that passes); a script with more
# than this many is re-screened each time rather than pinning its list in memory.
MAX_CACHED_FINDINGS = 64


class ScreenCache:
    """Bounded LRU of (script SHA-256, policy, screen) → the screen's findings.

    Thread-safe (the dry-run and batch paths may screen off the event loop). A hit returns
    fresh copies of the findings, so a caller that edits one cannot change the verdict."""

    def __init__(self, max_entries: int = 4096) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[_Key, tuple[Finding, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def screen(
        self,
        tree: ast.Module,
        source: str,
        policy: Policy | None = None,
        screen: Screen = quick_screen,
    ) -> list[Finding]:
        """`screen(tree, policy, source)`'s findings for `tree`, parsed from `source`."""
        key = _key(source, policy, screen)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if cached is not None:
            return [finding.model_copy() for finding in cached]
        findings = screen(tree, policy, source)
        with self._lock:
            self.misses += 1
            if len(findings) <= MAX_CACHED_FINDINGS:
                self._entries[key] = tuple(finding.model_copy() for finding in findings)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return findings

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _key(source: str, policy: Policy | None, screen: Screen) -> _Key:
    # surrogatepass: a lone surrogate is refused later by the parse, not here.
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    # Two equal policies may dump their sets in different orders: that only costs a miss.
    return digest, "" if policy is None else policy.model_dump_json(), screen


# The API process's cache: a few MiB at most (4096 keys, each with <= 64 small findings).
SCREEN_CACHE = ScreenCache()
