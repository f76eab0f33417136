# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import functools
import operator


@functools.lru_cache(maxsize=128)
def normalise(text):
    return " ".join(text.lower().split())


def make_scorer(weight):
    return functools.partial(weighted_match, weight=weight)


def weighted_match(prediction, reference, weight=1.0):
    return weight * float(normalise(prediction) == normalise(reference))


def evaluate_model(model):
    refs = ["yes", "no", "yes"]
    outs = model.generate(["Is it raining? (yes/no)", "Is 5 < 2? (yes/no)",
                           "Is water wet? (yes/no)"], max_new_tokens=2)
    scorers = {"strict": make_scorer(1.0), "lenient": make_scorer(0.5)}
    totals = {name: functools.reduce(operator.add, map(fn, outs, refs), 0.0)
              for name, fn in scorers.items()}
    ranked = sorted(zip(outs, refs), key=operator.itemgetter(1))
    return {**totals, "cache_hits": normalise.cache_info().hits, "first_ref": ranked[0][1]}
