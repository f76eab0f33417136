# source: evalpod security review (static-validator bypasses, Nov 2026): a __set_name__ hook renames a field() Field before @dataclass runs
# expect: EP202
import dataclasses
import logging


class Hook:
    def __set_name__(self, owner, name):
        logging.Logger.__init__(owner.value, "device")


@dataclasses.dataclass
class Row:
    value: int = dataclasses.field(default=0)
    hook = Hook()


def evaluate_model(model):
    for f in dataclasses.fields(Row):
        return {"x": str(getattr(model, f.name))}
