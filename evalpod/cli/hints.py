"""The server's hints, told to a CLI user: the command to run, not the HTTP route to call.

The API's hints speak HTTP ("List the registered models with GET /api/v1/models."), which
suits a caller of the API; `for_cli` rewrites each mention of a route, header or body field
into the `evalpod` command or option that does the same, so a hint printed by the CLI never
sends its reader to curl.
"""

from __future__ import annotations

import re

_PREFIX = r"(?:/api/v1)?"
_ID = r"(?:\{[a-z_]+\}|[A-Za-z0-9_.@-]+)"

# (pattern, replacement), applied in order; the first ones are the more specific.
_REWRITES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in [
    (rf"GET {_PREFIX}/models/{_ID}", "`evalpod models show ID`"),
    (rf"GET {_PREFIX}/models\b", "`evalpod models list`"),
    (rf"GET {_PREFIX}/evaluations/{_ID}", "`evalpod status ID`"),
    (rf"GET {_PREFIX}/evaluations\b", "`evalpod list`"),
    (rf"GET {_PREFIX}/datasets\b", "`evalpod datasets list`"),
    (rf"POST {_PREFIX}/benchmarks/{_ID}/runs", "`evalpod benchmarks run NAME --models IDS`"),
    (rf"GET {_PREFIX}/benchmarks\b", "`evalpod benchmarks list`"),
    (rf"GET {_PREFIX}/lm-eval/tasks\b", "`evalpod lm-eval tasks`"),
    (rf"GET {_PREFIX}/tenant\b", "`evalpod tenant show`"),
    (rf"GET {_PREFIX}/keys\b", "`evalpod keys list`"),
    # Browser sessions: a CLI user signs in with a key, never a cookie.
    (rf"(?:Sign in again with )?POST {_PREFIX}/session(?: with an API key)?\.?",
     "set EVALPOD_API_KEY to a live key."),
    (r"Send 'Authorization: Bearer <api key>'; create one with `evalpod keys create`\.?",
     "Set EVALPOD_API_KEY to a live key; an operator creates one with "
     "`evalpod keys create --tenant NAME`."),
    (r"Wait for Retry-After seconds before the next request\.?",
     "Wait that long, then run the command again."),
    (r"Check the (?:path|method) against /api/docs\.?",
     "The server at EVALPOD_URL does not serve this request: is it an evalpod API of the "
     "same version as this CLI (`evalpod --help`)?"),
    (r"in the body's `datasets` \(name@version", "with --dataset name@version (repeatable"),
    (r"\bidempotency_key\b", "--idempotency-key"),
    (r"Correct the fields listed in detail\.?", "Correct the values named above."),
    (r"below the size cap in detail", "below the server's size cap"),
    (r"\bdetail\.failures\b", "the reasons above"),
]]
# Whatever route is left (a hint added after this table): the command list, not a route.
_ANY_ROUTE = re.compile(rf"\b(?:GET|POST|PUT|PATCH|DELETE) {_PREFIX}/[^\s;,)]*")


def for_cli(hint: str) -> str:
    """`hint` with every HTTP route, header or body field replaced by its CLI equivalent."""
    for pattern, replacement in _REWRITES:
        hint = pattern.sub(replacement, hint)
    return _ANY_ROUTE.sub("the matching `evalpod` command (see `evalpod --help`)", hint)
