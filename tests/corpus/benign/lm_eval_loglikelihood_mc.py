# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
"""lm-eval-like multiple choice: acc and acc_norm from summed log-likelihoods."""
import math
from dataclasses import dataclass, field


@dataclass
class Doc:
    query: str
    choices: list
    gold: int
    meta: dict = field(default_factory=dict)


DOCS = [
    Doc("Question: What do bees make?\nAnswer:", [" honey", " milk", " steel"], 0),
    Doc("Question: Which is a planet?\nAnswer:", [" Mars", " Paris", " Nile"], 0),
    Doc("Question: Ice is frozen what?\nAnswer:", [" sand", " water", " air"], 1),
]


def construct_requests(doc):
    return [(doc.query, choice) for choice in doc.choices]


def process_results(doc, results):
    lls = [ll for ll, _ in results]
    completion_len = [float(len(c)) for c in doc.choices]
    acc = 1.0 if max(range(len(lls)), key=lls.__getitem__) == doc.gold else 0.0
    normed = [ll / n for ll, n in zip(lls, completion_len)]
    acc_norm = 1.0 if normed.index(max(normed)) == doc.gold else 0.0
    return {"acc": acc, "acc_norm": acc_norm}


def mean(xs):
    return sum(xs) / len(xs) if xs else math.nan


def evaluate_model(model):
    per_doc = []
    for doc in DOCS:
        results = model.loglikelihood(construct_requests(doc))
        per_doc.append(process_results(doc, results))
    return {key: mean([r[key] for r in per_doc]) for key in ("acc", "acc_norm")}
