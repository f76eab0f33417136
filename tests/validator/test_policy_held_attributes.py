"""What an attribute holds, a library object's stream, and containers filled with shared
loggers (validator/policy/reach.py, streams.py, shared.py): each pair differs only where the
rule draws its line, so a rule that judged by the wrong thing fails one side."""

from __future__ import annotations

import pytest

from validator.policy.engine import run_policy

ACC = '''
import logging
import sys
import contextlib


class Acc:
    def save(self, path):
        return path

    def update(self, values):
        return values


class Box:
    pass


'''

# (rule, refused source, accepted source)
PAIRS = {
    "decoy store does not type a foreign chain": ("EP401", '''
def evaluate_model(model):
    Box().backend_tokenizer = Acc()
    model.tokenizer.backend_tokenizer.save("/out/x.json")
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    box = Box()
    box.backend_tokenizer = Acc()
    box.backend_tokenizer.save("/out/x.json")
    return {"a": 1.0}
'''),
    "decoy store does not type a foreign config": ("EP202", '''
def evaluate_model(model, keys=None):
    Box().config = Acc()
    model.model.config.update(dict(keys))
    return {"a": 1.0}
''', '''
def evaluate_model(model, keys=None):
    box = Box()
    box.config = Acc()
    box.config.update(dict(keys))
    return {"a": 1.0}
'''),
    "self chains stay own only on plain holders": ("EP401", '''
class Holder:
    def __getattr__(self, name):
        return None

    def run(self):
        self.cache.save("x")


def evaluate_model(model):
    Holder().cache = Acc()
    Holder().run()
    return {"a": 1.0}
''', '''
class Holder:
    def __init__(self):
        self.cache = Acc()

    def run(self):
        self.cache.save("x")


def evaluate_model(model):
    Holder().run()
    return {"a": 1.0}
'''),
    "a literal setattr counts as a store": ("EP401", '''
def evaluate_model(model):
    box = Box()
    box.native = Acc()
    setattr(box, "native", model.tokenizer.backend_tokenizer)
    box.native.save("x")
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    box = Box()
    box.native = Acc()
    setattr(box, "other", model.tokenizer.backend_tokenizer)
    box.native.save("x")
    return {"a": 1.0}
'''),
    "a loop target is a store of unknown value": ("EP401", '''
def evaluate_model(model):
    box = Box()
    box.native = Acc()
    for box.native in [model.tokenizer.backend_tokenizer]:
        pass
    box.native.save("x")
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    box = Box()
    box.native = Acc()
    for item in [model.tokenizer.backend_tokenizer]:
        pass
    box.native.save("x")
    return {"a": 1.0}
'''),
    "a stream is no class attribute": ("EP104", '''
class K:
    s = sys.stderr


def evaluate_model(model):
    print("x", file=K.s)
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    s = sys.stderr
    print("x", file=s)
    return {"a": 1.0}
'''),
    "a stream parameter is no class attribute": ("EP104", '''
def holder(stream=sys.stderr):
    class K:
        s = stream
    return K


def evaluate_model(model):
    print("x", file=holder().s)
    return {"a": 1.0}
''', '''
def log(msg, stream=sys.stderr):
    print(msg, file=stream)


def evaluate_model(model):
    log("x")
    return {"a": 1.0}
'''),
    "a handler's stream is not read": ("EP104", '''
def evaluate_model(model):
    handler = logging.StreamHandler(sys.stderr)
    handler.stream.write("x")
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger("eval.x").addHandler(handler)
    return {"a": 1.0}
'''),
    "buffer only on script-made objects": ("EP104", '''
def evaluate_model(model):
    out = logging.lastResort
    return {"a": float(len(out.buffer))}
''', '''
class Capture:
    def __init__(self):
        self.buffer = []

    def write(self, text):
        self.buffer.append(text)


def evaluate_model(model):
    out = Capture()
    out.write("x")
    return {"a": float(len(out.buffer))}
'''),
    "a redirect binds only a script-made target": ("EP104", '''
def evaluate_model(model):
    with contextlib.redirect_stdout(sys.stderr) as s:
        s.write("x")
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    with contextlib.redirect_stdout(sys.stderr):
        print("x")
    return {"a": 1.0}
'''),
    "a list filled with the root logger holds it": ("EP109", '''
def evaluate_model(model):
    items = []
    items.append(logging.getLogger())
    items[0].manager.disable = 99
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    items = []
    items.append(Box())
    items[0].manager = 99
    logging.getLogger().info("%d", len(items))
    return {"a": 1.0}
'''),
    "setattr with a literal name stores a shared logger": ("EP109", '''
def evaluate_model(model):
    box = Box()
    setattr(box, "lg", logging.getLogger("lm_eval"))
    box.lg.disabled = True
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    box = Box()
    setattr(box, "lg", logging.getLogger("eval.mine"))
    box.lg.disabled = True
    return {"a": 1.0}
'''),
    "an item store holds the logger": ("EP109", '''
def evaluate_model(model):
    d = {}
    d["x"] = logging.getLogger("transformers")
    d["x"].disabled = True
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    d = {}
    d["x"] = Box()
    d["x"].disabled = True
    return {"a": 1.0}
'''),
    "an import in a class body": ("EP106", '''
class K:
    from sys import stderr as s


def evaluate_model(model):
    print("x", file=K.s)
    return {"a": 1.0}
''', '''
class K:
    def run(self):
        from json import dumps
        return dumps({})


def evaluate_model(model):
    return {"a": float(len(K().run()))}
'''),
    "a redirect is entered only as a plain with item": ("EP104", '''
def evaluate_model(model):
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(sys.stderr)).write("x")
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    with contextlib.ExitStack() as stack, contextlib.redirect_stdout(sys.stderr):
        print("x")
    return {"a": 1.0}
'''),
    "a filling method taken as a value fills its list": ("EP109", '''
def evaluate_model(model):
    items = []
    add = items.append
    add(logging.getLogger())
    items[0].manager.disable = 99
    return {"a": 1.0}
''', '''
def evaluate_model(model):
    items = []
    count = items.count
    items.append(Box())
    items[0].manager = count(None)
    return {"a": 1.0}
'''),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_refused_side(name: str) -> None:
    rule, refused, _ = PAIRS[name]
    findings = run_policy(ACC + refused)
    assert any(f.rule == rule for f in findings), findings


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_accepted_side(name: str) -> None:
    rule, _, accepted = PAIRS[name]
    findings = run_policy(ACC + accepted)
    assert not [f for f in findings if f.rule == rule], findings
