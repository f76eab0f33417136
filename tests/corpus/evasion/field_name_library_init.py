# source: evalpod security review (static-validator bypasses, Nov 2026): a library __init__ called unbound renames a Field
# expect: EP202
import dataclasses
import logging


@dataclasses.dataclass
class Row:
    value: int = 0


def read(obj, attr):
    for f in dataclasses.fields(Row):
        logging.Logger.__init__(f, attr)
        return getattr(obj, f.name)


def evaluate_model(model):
    under = "".join(chr(c) for c in (95, 95))
    return {"g": str(read(read, under + "globals" + under))}
