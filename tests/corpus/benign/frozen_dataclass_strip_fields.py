# source: evalpod security review false positive (Nov 2026): frozen dataclass __post_init__ normalising its fields
# expect: accept
import dataclasses


@dataclasses.dataclass(frozen=True)
class Example:
    question: str
    answer: str

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, getattr(self, f.name).strip())


def evaluate_model(model):
    e = Example(" q ", " a ")
    return {"q": e.question}
