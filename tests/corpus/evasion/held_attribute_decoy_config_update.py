# source: evalpod attacker (static-validator follow-up 3, Nov 2026): a decoy `box.config = Acc()` made model.model.config.update look like a script method
# expect: EP202
class Acc(dict):
    def update(self, values):
        for key in values:
            self[key] = values[key]


class Box:
    pass


def evaluate_model(model):
    box = Box()
    box.config = Acc()
    name = bytes([95, 95, 99, 108, 97, 115, 115, 95, 95]).decode()
    model.model.config.update({name: Box})
    return {"swapped": float(isinstance(model.model.config, Box))}
