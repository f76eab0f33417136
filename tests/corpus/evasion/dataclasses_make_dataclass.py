# source: issue #11 (stdlib code generation with caller-chosen text)
# expect: EP107
import dataclasses


def evaluate_model(model):
    cls = dataclasses.make_dataclass("Row", [("x", int, dataclasses.field(default=0))])
    return {"row": repr(cls())}
