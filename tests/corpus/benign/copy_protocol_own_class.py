# source: evalpod own (Nov 2026 follow-up: the edges of the reduce-protocol rule): a script's own picklable and copyable classes
# expect: accept
import copy


class Span:
    def __init__(self, start, end):
        self.start = start
        self.end = end

    def __reduce__(self):
        return (Span, (self.start, self.end))


class Tally:
    def __init__(self, hits=0):
        self.hits = hits

    def __reduce_ex__(self, protocol):
        return (type(self), (self.hits,), {"hits": self.hits})


class Cache:
    def __init__(self):
        self.items = {}

    def __getstate__(self):
        return {"items": dict(self.items)}

    def __setstate__(self, state):
        self.items = state["items"]

    def __deepcopy__(self, memo):
        clone = Cache()
        clone.items = copy.deepcopy(self.items, memo)
        return clone


def evaluate_model(model):
    spans = copy.deepcopy([Span(0, 3), Span(4, 9)])
    tally = copy.copy(Tally(2))
    cache = Cache()
    cache.items["a"] = 1
    clone = copy.deepcopy(cache)
    return {"spans": len(spans), "hits": tally.hits, "cached": len(clone.items)}
