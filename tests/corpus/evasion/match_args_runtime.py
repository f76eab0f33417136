# source: evalpod own (__match_args__ built at run time hides the names patterns read)
# expect: EP202
NAMES = ["x"]


class Probe:
    __match_args__ = tuple(NAMES)


def evaluate_model(model):
    match Probe():
        case Probe(value):
            return {"v": str(value)}
    return {}
