# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): a script holder deriving from nn.Module, whose register_module stores any module under a name
# expect: EP202
import torch.nn as nn


class Acc(dict):
    def update(self, values):
        return values


class Box(nn.Module):
    pass


def evaluate_model(model):
    box = Box()
    box.config = Acc()
    box.register_module("config", model.model)
    name = bytes([95, 95, 99, 108, 97, 115, 115, 95, 95]).decode()
    box.config.update({name: Box})
    return {"a": 1.0}
