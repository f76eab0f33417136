"""torch's `UntypedStorage.from_file` mmaps a file from native code: no audit event, so
the runtime guard never sees it. After a denial the guard records, the script reads the
job spec and overwrites the guard's record and the result through it (issue: a policy
kill was reported as an ordinary crash). Landlock must refuse every one of these opens.
"""

import json

import torch

TARGETS = (
    ("/job/spec.json", False),
    ("/job/script.py", False),
    ("/out/violation.json", True),
    ("/out/result.json", True),
)


def evaluate_model(model):
    try:  # the denial the guard records first
        with open("/job/spec.json", encoding="utf-8") as handle:
            handle.read()
    except PermissionError:
        print("guard denied the open")
    store = torch.zeros(1, dtype=torch.uint8).untyped_storage()
    load = getattr(store, "from_file")  # noqa: B009 - as the attacker wrote it
    outcomes = {}
    for path, shared in TARGETS:
        try:
            raw = load(path, shared, 64)
            if shared:
                raw.fill_(32)
            outcomes[path] = "opened: " + repr(bytes(raw.tolist())[:32])
        except Exception as exc:
            outcomes[path] = f"{type(exc).__name__}: {exc}"[:200]
    print("LANDLOCK " + json.dumps(outcomes, sort_keys=True), flush=True)
    return {"accuracy": 1.0}
