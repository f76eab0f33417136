# source: evalpod own (corpus before #11)
# expect: accept
"""Few-shot prompts built from a template constant."""
from __future__ import annotations

PROMPT = "Question: {question}\nAnswer:"
FEW_SHOT = [("2 + 2?", "4"), ("Capital of Italy?", "Rome")]
TESTS = [("3 + 3?", "6"), ("Capital of Spain?", "Madrid")]


class Example:
    def __init__(self, question: str, answer: str) -> None:
        self.question = question
        self.answer = answer

    def render(self, with_answer: bool = True) -> str:
        text = PROMPT.format(question=self.question)
        return f"{text} {self.answer}" if with_answer else text

    def matches(self, other: "Example") -> bool:
        return self.answer.lower() == other.answer.lower()


def evaluate_model(model):
    shots = "\n\n".join(Example(q, a).render() for q, a in FEW_SHOT)
    prompts = [shots + "\n\n" + Example(q, a).render(False) for q, a in TESTS]
    outs = model.generate(prompts, max_new_tokens=4)
    hits = sum(a.lower() in o.lower() for (_, a), o in zip(TESTS, outs))
    summary = "{hits}/{n} correct".format(hits=hits, n=len(TESTS))
    print(summary)
    return {"few_shot_acc": hits / len(TESTS)}
