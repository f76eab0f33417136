# source: evalpod own (attacker report #2, r3: `__new__` set on three classes to walk a handler down to its raw file)
# expect: EP301
import logging


class Handler:
    pass


class Text:
    pass


class Raw:
    pass


def evaluate_model(model):
    setattr(Handler, "__new__", staticmethod(lambda cls: logging.StreamHandler()))
    setattr(Text, "__new__", staticmethod(lambda cls: Handler().stream))
    setattr(Raw, "__new__", staticmethod(lambda cls: Text().buffer))
    raw = Raw().raw
    print("raw:", type(raw).__name__, raw)
    raw.write(b"[evalpod] written past the text layer\n")
    return {"fd": float(raw.fileno())}
