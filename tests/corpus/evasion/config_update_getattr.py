# source: evalpod security review (Nov 2026 follow-up): library methods that set an attribute per mapping key (the setter fetched by a literal name)
# expect: EP202
import operator


class Other:
    pass


def evaluate_model(model):
    name = "".join(chr(c) for c in (95, 95, 99, 108, 97, 115, 115, 95, 95))
    getattr(model.config, "update")({name: Other})
    operator.methodcaller("update", {name: Other})(model.config)
    return {}
