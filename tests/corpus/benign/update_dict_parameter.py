# source: evalpod attacker (static-validator follow-up, Nov 2026), EP202 false positive: merge(into, extra): into.update(extra), every caller passing plain dicts
# expect: accept
def merge(into, extra):
    into.update(extra)
    return into


def evaluate_model(model):
    return merge({"a": 1.0}, {"b": 2.0})
