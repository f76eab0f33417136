"""Issue #11: str.format taken as a value with a template built at run time; the object is
recovered through the AttributeError's `.obj`, then used to run a command.
expect: os.system"""
import warnings


def evaluate_model(model):
    fmt = str.format
    chain = "__init__." + "__globals__"
    namespace = None
    try:
        fmt("{0." + chain + ".missing}", warnings.catch_warnings)
    except AttributeError as error:
        namespace = error.obj
    namespace["sys"].modules["os"].system("id")
    return {}
