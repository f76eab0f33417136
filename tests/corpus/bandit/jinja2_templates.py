# source: PyCQA/bandit examples/jinja2_templating.py (B701)
# expect: EP101
import jinja2


def evaluate_model(model):
    return {"x": jinja2.Environment(autoescape=False).from_string("{{ x }}").render(x=1)}
