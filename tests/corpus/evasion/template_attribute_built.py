# source: evalpod own (an attribute assigned a template built at run time)
# expect: EP202
class Renderer:
    def __init__(self, field):
        self.template = "{0." + field + "}"

    def render(self, obj):
        return self.template.format(obj)


def evaluate_model(model):
    return {"out": Renderer("device").render(model)}
