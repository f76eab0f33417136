# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (the instance dict updated directly)
# expect: EP301
def evaluate_model(model):
    key = "".join(chr(c) for c in (102, 111, 111))
    model.config.__dict__.update({key: 1})
    return {}
