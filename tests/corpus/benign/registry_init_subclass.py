# source: evalpod own (#11 follow-up: ordinary evaluation code, false-positive class)
# expect: accept
class Metric:
    registry = {}

    def __init_subclass__(cls, name=None, **kwargs):
        super().__init_subclass__(**kwargs)
        Metric.registry[name or cls.__name__.lower()] = cls

    def __repr__(self):
        return f"<{self.__class__.__name__} {self.__class__.__qualname__}>"

    def compute(self, preds, refs):
        raise NotImplementedError


class ExactMatch(Metric, name="exact_match"):
    def compute(self, preds, refs):
        return sum(p.strip() == r.strip() for p, r in zip(preds, refs)) / len(refs)


class Contains(Metric):
    def compute(self, preds, refs):
        return sum(r in p for p, r in zip(preds, refs)) / len(refs)


def evaluate_model(model):
    refs = ["Paris", "4"]
    preds = model.generate(["The capital of France is", "2 + 2 ="], max_new_tokens=3)
    results = {}
    for key, cls in sorted(Metric.registry.items()):
        metric = cls()
        results[key] = metric.compute(preds, refs)
        print(repr(metric), type(metric).__name__)
    try:
        Metric().compute(preds, refs)
    except NotImplementedError as exc:
        results["abstract_error"] = exc.__class__.__name__
    return results
