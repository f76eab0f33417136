# source: evalpod own (#11 follow-up: ordinary evaluation code, false-positive class)
# expect: accept
import math
import statistics

AGGREGATES = ["mean", "median", "pstdev"]


def evaluate_model(model):
    texts = ["The cat sat on the mat.", "A dog barked.", "Rain falls in spring."]
    lengths = [len(model.tokenizer(t)["input_ids"]) for t in texts]
    summary = {}
    for fn in ("mean", "median", "pstdev"):
        summary[f"tokens_{fn}"] = float(getattr(statistics, fn)(lengths))
    for fn in AGGREGATES:
        summary[f"log_{fn}"] = float(getattr(statistics, fn)([math.log(n) for n in lengths]))
    summary["funcs"] = [getattr(math, name)(1.0) for name in ("exp", "log1p", "sqrt")]
    return summary
