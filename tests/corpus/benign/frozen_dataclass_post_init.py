# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    question: str
    answer: str
    aliases: tuple = field(default=())

    def __post_init__(self):
        # Frozen dataclasses normalise their fields the long way round.
        object.__setattr__(self, "question", " ".join(self.question.split()))
        object.__setattr__(self, "answer", self.answer.strip().lower())

    def matches(self, prediction):
        guess = prediction.strip().lower()
        return guess == self.answer or guess in self.aliases


def evaluate_model(model):
    examples = [Example("  Capital of   Japan? ", " Tokyo ", ("tokyo city",)),
                Example("Largest ocean?", "Pacific")]
    outputs = model.generate([f"Q: {e.question}\nA:" for e in examples], max_new_tokens=3)
    return {"accuracy": sum(e.matches(o) for e, o in zip(examples, outputs)) / len(examples),
            "first": examples[0].question}
