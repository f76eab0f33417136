# source: evalpod own (Field objects are mutable: getattr over fields is only safe untouched)
# expect: EP202
import dataclasses


@dataclasses.dataclass
class Row:
    x: int = 1


def evaluate_model(model):
    for field in dataclasses.fields(Row):
        field.name = model.tokenizer.decode([95]) * 2 + "class" + model.tokenizer.decode([95]) * 2
        return {"v": str(getattr(Row(), field.name))}
    return {}
