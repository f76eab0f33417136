# source: evalpod security review (static-validator bypasses, Nov 2026): setattr with the literal name 'name' on a Field
# expect: EP202
import dataclasses


@dataclasses.dataclass
class Row:
    value: int = 0


def read(obj, attr):
    for f in dataclasses.fields(Row):
        setattr(f, "name", attr)
        return getattr(obj, f.name)


def evaluate_model(model):
    return {"x": str(read(model, "device"))}
