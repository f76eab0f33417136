"""The quick screen's verdict cache: a hit only for the same script under the same policy
and screen, the same findings as a fresh screen, and a bounded size."""

from __future__ import annotations

import ast

import pytest

from api import evaluation_service as service
from api.schemas import EvaluationCreate
from api.screen_cache import MAX_CACHED_FINDINGS, SCREEN_CACHE, ScreenCache
from evalpod.settings import Settings
from validator.findings import Finding
from validator.policy.config import Policy
from validator.screen import parse_script, quick_screen

GOOD = "def evaluate_model(model):\n    return {'accuracy': 1.0}\n"
BAD = "import os\n\ndef evaluate_model(model):\n    return {'x': eval('1'), 'f': open('f')}\n"


class CountingScreen:
    """`quick_screen`, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(
        self, tree: ast.Module, policy: Policy | None, source: str | None
    ) -> list[Finding]:
        self.calls += 1
        return quick_screen(tree, policy, source)


def _screen(
    cache: ScreenCache,
    source: str,
    policy: Policy | None = None,
    screen: CountingScreen | None = None,
) -> list[Finding]:
    return cache.screen(
        parse_script(source), source, policy, **({} if screen is None else {"screen": screen})
    )


@pytest.mark.parametrize("source", [GOOD, BAD])
def test_a_hit_returns_the_fresh_screens_findings(source: str) -> None:
    cache, screen = ScreenCache(), CountingScreen()
    fresh = quick_screen(parse_script(source), source=source)
    first = _screen(cache, source, screen=screen)
    again = _screen(cache, source, screen=screen)
    assert first == again == fresh
    assert screen.calls == 1 and (cache.hits, cache.misses) == (1, 1)


def test_a_hit_hands_out_copies() -> None:
    cache = ScreenCache()
    for _ in range(2):  # the first answer is the screen's own, the second a hit
        answer = _screen(cache, BAD)
        answer[0].severity = "warning"
        answer.clear()
    assert _screen(cache, BAD) == quick_screen(parse_script(BAD), source=BAD)


@pytest.mark.parametrize(
    "changed",
    [
        GOOD + "# a comment\n",  # one byte of text: another script
        GOOD.replace("1.0", "2.0"),
        BAD.replace("eval('1')", "len('1')"),  # the reported case: a script edited to pass
    ],
)
def test_a_changed_script_misses(changed: str) -> None:
    cache, screen = ScreenCache(), CountingScreen()
    original = BAD if "len(" in changed else GOOD
    _screen(cache, original, screen=screen)
    assert _screen(cache, changed, screen=screen) == quick_screen(
        parse_script(changed), source=changed
    )
    assert screen.calls == 2


@pytest.mark.parametrize(
    "policy",
    [
        Policy(disabled_rules=frozenset({"EP401"})),
        Policy(severity_overrides={"EP401": "warning"}),
        Policy(extra_allowed_imports=frozenset({"sklearn"})),
    ],
)
def test_a_changed_policy_misses(policy: Policy) -> None:
    cache, screen = ScreenCache(), CountingScreen()
    default = _screen(cache, BAD, screen=screen)
    under_policy = _screen(cache, BAD, policy, screen=screen)
    assert screen.calls == 2
    assert under_policy == quick_screen(parse_script(BAD), policy, BAD)
    assert _screen(cache, BAD, screen=screen) == default  # the default's entry is intact
    assert screen.calls == 2


def test_another_screen_misses() -> None:
    cache, first, second = ScreenCache(), CountingScreen(), CountingScreen()
    _screen(cache, GOOD, screen=first)
    _screen(cache, GOOD, screen=second)
    assert (first.calls, second.calls) == (1, 1)


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache, screen = ScreenCache(max_entries=2), CountingScreen()
    scripts = [GOOD + f"# {n}\n" for n in range(3)]
    _screen(cache, scripts[0], screen=screen)
    _screen(cache, scripts[1], screen=screen)
    _screen(cache, scripts[0], screen=screen)  # now the most recently used
    _screen(cache, scripts[2], screen=screen)  # evicts scripts[1]
    assert len(cache) == 2 and screen.calls == 3
    _screen(cache, scripts[0], screen=screen)
    assert screen.calls == 3
    _screen(cache, scripts[1], screen=screen)
    assert screen.calls == 4 and len(cache) == 2


def test_a_verdict_with_many_findings_is_not_kept() -> None:
    cache = ScreenCache()
    many = GOOD + "".join(f"x{n} = eval('{n}')\n" for n in range(MAX_CACHED_FINDINGS + 1))
    assert len(_screen(cache, many)) > MAX_CACHED_FINDINGS
    assert len(cache) == 0


def test_submits_checks_reuse_the_verdict_and_still_refuse() -> None:
    """`script_findings` (submit, batch, dry-run): the second identical script is a hit,
    and a cached refusal still refuses."""
    settings = Settings()
    SCREEN_CACHE.clear()
    hits = SCREEN_CACHE.hits
    body = EvaluationCreate(model_id="m", script=BAD + "# screen cache test\n")
    first = service.script_findings(body, settings)
    assert service.script_findings(body, settings) == first
    assert SCREEN_CACHE.hits == hits + 1
    report = service.dry_run(body, settings)
    assert not report.valid and {f.rule for f in report.errors} == {"EP102", "EP201", "EP401"}
    assert SCREEN_CACHE.hits == hits + 2
