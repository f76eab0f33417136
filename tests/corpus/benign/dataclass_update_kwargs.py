# source: evalpod security review false positive (Nov 2026): dataclass update(**kwargs) adding to getattr(self, key)
# expect: accept
from dataclasses import dataclass, field, fields, asdict


@dataclass
class Metrics:
    accuracy: float = 0.0
    f1: float = 0.0

    def update(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, getattr(self, key) + value)


def evaluate_model(model):
    m = Metrics()
    m.update(accuracy=1.0)
    return asdict(m)
