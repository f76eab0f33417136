"""Which `**` calls can reach a keyword-driven setattr (validator/policy/reach.py): the
class family and `type(x)` are judged precisely, so a script that also has enums,
NamedTuples or `type(exc).__qualname__` is not refused for them, while a real route to the
sink still is."""

from __future__ import annotations

import pytest

from validator.policy.engine import run_policy

CONFIG = '''
class Config:
    def __init__(self, **kwargs):
        self.batch_size = 8
        self.update(**kwargs)

    def update(self, **overrides):
        for key, value in overrides.items():
            if not hasattr(self, key):
                raise KeyError(key)
            setattr(self, key, value)
'''

ACCEPTED = {
    "library bases": '''
import enum
from typing import NamedTuple
class Split(str, enum.Enum):
    TRAIN = "train"
class Example(NamedTuple):
    text: str
def evaluate_model(model):
    cfg = Config(batch_size=4)
    enc = model.tokenizer(["a"], return_tensors="pt")
    out = model.model(**enc)
    return {"n": float(cfg.batch_size), "split": float(len(Split.TRAIN.value))}
''',
    "type only named": '''
from collections import Counter
def evaluate_model(model):
    cfg = Config(batch_size=4)
    errors = Counter()
    try:
        model.model(**model.tokenizer(["a"], return_tensors="pt"))
    except Exception as exc:
        errors[type(exc).__qualname__] += 1
    return {"errors": float(sum(errors.values())), "n": float(cfg.batch_size)}
''',
}

REFUSED = {
    "script subclass used as a value": '''
class Tuned(Config):
    pass
def build(kind, params):
    return kind(**params)
def evaluate_model(model):
    obj = build(Tuned, dict(model.config))
    return {"n": 1.0}
''',
    "subclass through another script class": '''
class Middle(Config):
    pass
class Leaf(Middle):
    pass
REGISTRY = [Leaf]
def evaluate_model(model):
    obj = REGISTRY[0](**dict(model.config))
    return {"n": 1.0}
''',
    "type of an instance called": '''
def evaluate_model(model):
    cfg = Config()
    fresh = type(cfg)(**dict(model.config))
    return {"n": 1.0}
''',
    "type stored": '''
def evaluate_model(model):
    cfg = Config()
    kind = type(cfg)
    other = kind(**dict(model.config))
    return {"n": 1.0}
''',
    "unknown base": '''
def pick():
    return Config
class Dynamic(pick()):
    pass
def evaluate_model(model):
    handler = [Dynamic][0]
    handler(**dict(model.config))
    return {"n": 1.0}
''',
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_unrelated_classes_and_class_names_do_not_open_a_route(name: str) -> None:
    findings = run_policy(CONFIG + ACCEPTED[name])
    assert not [f for f in findings if f.rule == "EP202"], findings


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_real_route_to_the_keyword_sink_is_still_refused(name: str) -> None:
    findings = run_policy(CONFIG + REFUSED[name])
    assert any(f.rule == "EP202" for f in findings), findings
