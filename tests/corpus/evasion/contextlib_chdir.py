# source: evalpod own (process-wide working directory change)
# expect: EP107
import contextlib


def evaluate_model(model):
    with contextlib.chdir("/"):
        pass
    return {}
