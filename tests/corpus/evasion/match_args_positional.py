# source: evalpod own (positional class patterns read the names in __match_args__)
# expect: EP301
class Probe:
    __match_args__ = ("__class__",)


def evaluate_model(model):
    match Probe():
        case Probe(klass):
            return {"k": str(klass)}
    return {}
