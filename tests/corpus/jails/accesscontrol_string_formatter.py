# source: zopefoundation AccessControl tests (test_script_formatter: string.Formatter is refused)
# expect: EP202
from string import Formatter


def evaluate_model(model):
    return {"out": Formatter().vformat("{0.device}", [model], {})}
