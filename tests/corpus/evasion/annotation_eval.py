# source: evalpod own (corpus before #11)
# expect: EP201
from functools import singledispatch


@singledispatch
def describe(value):
    return "unknown"


@describe.register
def _(value: "print(exec('import os; os.system(\"id\")')) or int"):
    return "int"


def evaluate_model(model):
    return {"kind": describe(1)}
