# source: evalpod security review (static-validator bypasses, Nov 2026): setattr(field, 'name', attr) then getattr(obj, field.name) reads __globals__
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
    under = "".join(chr(c) for c in (95, 95))
    env = read(dataclasses.fields, under + "globals" + under)["sys"].modules["os"].environ
    return {"env": dict(env)}
