# source: evalpod security review (static-validator bypasses, Nov 2026): dataclasses.replace(**{runtime name: ...})
# expect: EP202
import dataclasses


@dataclasses.dataclass
class Row:
    value: int = 0


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    row = dataclasses.replace(Row(), **{name: Row})
    return {"row": str(row)}
