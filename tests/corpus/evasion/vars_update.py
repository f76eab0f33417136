# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (vars(obj) is the instance dict)
# expect: EP203
def evaluate_model(model):
    key = "".join(chr(c) for c in (102, 111, 111))
    vars(model.config).update({key: 1})
    return {}
