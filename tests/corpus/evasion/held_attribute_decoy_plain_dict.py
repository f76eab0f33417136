# source: evalpod attacker (static-validator follow-up 3, Nov 2026): a decoy `box.config = {}` made model.model.config look like a plain dict
# expect: EP202
class Box:
    pass


def evaluate_model(model):
    box = Box()
    box.config = {}
    name = bytes([95, 95, 99, 108, 97, 115, 115, 95, 95]).decode()
    model.model.config.update({name: Box})
    return {"swapped": float(isinstance(model.model.config, Box))}
