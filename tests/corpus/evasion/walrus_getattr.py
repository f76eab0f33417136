# source: evalpod own (corpus before #11)
# expect: EP202
import random


def evaluate_model(model):
    if (g := getattr) is not None:
        return {"v": g(random, "_" + "os")}
    return {}
