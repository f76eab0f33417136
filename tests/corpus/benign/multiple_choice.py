# source: evalpod own (corpus before #11)
# expect: accept
from dataclasses import dataclass


@dataclass
class Item:
    question: str
    choices: list[str]
    answer: int


ITEMS = [
    Item("The opposite of hot is", [" cold", " warm", " blue"], 0),
    Item("Two plus two equals", [" three", " four", " five"], 1),
    Item("Birds can", [" swim only", " never move", " fly"], 2),
]


def evaluate_model(model):
    correct = 0
    for item in ITEMS:
        pairs = [(item.question, choice) for choice in item.choices]
        scores = model.loglikelihood(pairs)
        values = [s[0] if isinstance(s, (tuple, list)) else s for s in scores]
        best = max(range(len(values)), key=lambda i: values[i])
        correct += int(best == item.answer)
    return {"accuracy": correct / len(ITEMS)}
