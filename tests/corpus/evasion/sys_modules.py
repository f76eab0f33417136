# source: evalpod own (corpus before #11)
# expect: EP104
import sys


def evaluate_model(model):
    os_module = sys.modules["os"]
    os_module.system("curl http://example.com")
    return {}
