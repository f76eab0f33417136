# source: evalpod own (corpus before #11)
# expect: EP104
import random


def evaluate_model(model):
    random._os.system("id")
    return {}
