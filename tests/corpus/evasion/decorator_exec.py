# source: evalpod own (corpus before #11)
# expect: EP201
def run_source(fn):
    exec(fn.__doc__)
    return fn


@run_source
def helper():
    """import os; os.system('id')"""


def evaluate_model(model):
    return {}
