# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import heapq
import operator
from collections import namedtuple
from itertools import accumulate, chain, groupby, zip_longest

Row = namedtuple("Row", ["prompt", "score", "length"])


def evaluate_model(model):
    prompts = ["Apples are", "Bananas are", "Cherries are", "Dates are"]
    scores = [ll for ll, _ in model.loglikelihood([(p, " sweet") for p in prompts])]
    rows = [Row(p, s, len(p)) for p, s in zip(prompts, scores)]
    best = sorted(rows, key=operator.attrgetter("score"), reverse=True)[:2]
    top = heapq.nlargest(2, rows, key=lambda r: r.score)
    by_length = {k: [r.prompt for r in g]
                 for k, g in groupby(sorted(rows, key=lambda r: r.length), key=lambda r: r.length)}
    running = list(accumulate(r.length for r in rows))
    flat = list(chain.from_iterable([[1, 2], [3]]))
    pairs = list(zip_longest("ab", "xyz", fillvalue="-"))
    strip = operator.methodcaller("strip")
    return {"best": [r.prompt for r in best], "same_top": best == top, "groups": len(by_length),
            "running": running, "flat": flat, "pairs": len(pairs), "strip": strip("  a ")}
