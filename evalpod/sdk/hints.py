"""The server's hints, told to an SDK user: the `Client` call to make, not the HTTP route.

The API's hints speak HTTP ("List the registered models with GET /api/v1/models."), which
suits a caller of the API; `for_sdk` rewrites each mention of a route, header or body field
that the SDK covers into the call or argument that does the same (`Client.models()`,
`api_key=`, `datasets=[...]`). Routes the SDK has no call for (datasets, benchmarks) stay
as they are: they are what an SDK user would call. The CLI has its own translation
(evalpod/cli/hints.py), from the same server text (`ApiError.api_hint`).
"""

from __future__ import annotations

import re

_PREFIX = r"(?:/api/v1)?"
_ID = r"(?:\{[a-z_]+\}|[A-Za-z0-9_.@-]+)"

# (pattern, replacement), applied in order; the first ones are the more specific.
_REWRITES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in [
    (rf"GET {_PREFIX}/models/{_ID}", "`Client.model(model_id)`"),
    (rf"GET {_PREFIX}/models\b", "`Client.models()`"),
    (rf"GET {_PREFIX}/evaluations/{_ID}", "`Client.get(evaluation_id)`"),
    (rf"GET {_PREFIX}/evaluations\b", "`Client.list()`"),
    (rf"GET {_PREFIX}/lm-eval/tasks\b", "`Client.lm_eval_tasks()`"),
    (rf"GET {_PREFIX}/tenant\b", "`Client.tenant()`"),
    (rf"GET {_PREFIX}/keys\b", "`Client.keys()`"),
    # Browser sessions: an SDK user authenticates with a key, never a cookie.
    (rf"(?:Sign in again with )?POST {_PREFIX}/session(?: with an API key)?\.?",
     "Pass a live key as api_key= or in EVALPOD_API_KEY."),
    (r"Send 'Authorization: Bearer <api key>'; create one with `evalpod keys create`\.?",
     "Pass a live key as api_key= or in EVALPOD_API_KEY; an operator creates one with "
     "`evalpod keys create --tenant NAME`."),
    (r"Wait for Retry-After seconds before the next request\.?",
     "Wait the error's retry_after_s seconds, then call again."),
    (r"\bidempotency_key\b", "idempotency_key="),
    (r"in the body's `datasets` \(name@version",
     "in the `datasets` argument of submit/validate (datasets=['name@version']"),
    (r"Correct the fields listed in detail\.?",
     "Correct the fields listed in the error's detail['errors']."),
    (r"below the size cap in detail", "below the size cap in the error's detail"),
]]


def for_sdk(hint: str) -> str:
    """`hint` with each HTTP route, header or body field the SDK covers named as its call."""
    for pattern, replacement in _REWRITES:
        hint = pattern.sub(replacement, hint)
    return hint
