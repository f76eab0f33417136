# expect: EP104
import torch


def evaluate_model(model):
    torch.os.system("id")
    return {}
