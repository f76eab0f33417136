"""A renderer object holding its template, as prompt libraries do."""
# source: issue #11 false positive (self.template.format(...))
# expect: accept EP207
class Renderer:
    def __init__(self, template, **defaults):
        self.template = template
        self.defaults = defaults

    def render(self, **fields):
        return self.template.format(**{**self.defaults, **fields})


QA = Renderer("Q: {question}\nA:", question="")


def evaluate_model(model):
    prompts = [QA.render(question=q) for q in ("2 + 2?", "Colour of grass?")]
    outputs = model.generate(prompts, max_new_tokens=3)
    return {"n": len(outputs)}
