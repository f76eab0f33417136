# source: evalpod security review (static-validator bypasses, Nov 2026): Settings.__init__(field, name=attr) renames a dataclass Field
# expect: EP202
import dataclasses
import logging


@dataclasses.dataclass
class Row:
    value: int = 0


class Settings:
    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)


def word(codes):
    return "".join(chr(c) for c in codes)


def read(obj, attr):
    for f in dataclasses.fields(Row):
        Settings.__init__(f, name=attr)
        return getattr(obj, f.name)


def evaluate_model(model):
    logger = logging.getLogger("eval")
    cls = read(logger, word((95, 95, 99, 108, 97, 115, 115, 95, 95)))
    init = read(cls, word((95, 95, 105, 110, 105, 116, 95, 95)))
    g = read(init, word((95, 95, 103, 108, 111, 98, 97, 108, 115, 95, 95)))
    return {"keys": sorted(k for k in g if not k.startswith("_"))[:50]}
