# source: evalpod security review (static-validator bypasses, Nov 2026): a decorator under @dataclass renames a field() Field
# expect: EP202
import dataclasses
import logging


def rename(cls):
    logging.Logger.__init__(cls.value, "device")
    return cls


@dataclasses.dataclass
@rename
class Row:
    value: int = dataclasses.field(default=0)


def evaluate_model(model):
    for f in dataclasses.fields(Row):
        return {"x": str(getattr(model, f.name))}
