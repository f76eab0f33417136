# source: evalpod attacker (static-validator follow-up, Nov 2026), EP202 false positive: copy.deepcopy of a dataclass run state
# expect: accept
import copy
from dataclasses import dataclass, field


@dataclass
class RunState:
    seen: int = 0
    scores: list = field(default_factory=list)


def evaluate_model(model):
    base = RunState()
    snapshot = copy.deepcopy(base)
    snapshot.scores.append(1.0)
    snapshot.seen += 1
    return {"seen": float(snapshot.seen), "base_seen": float(base.seen)}
