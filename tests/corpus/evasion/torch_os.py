# source: evalpod own (corpus before #11)
# expect: EP104
import torch


def evaluate_model(model):
    torch.os.system("id")
    return {}
