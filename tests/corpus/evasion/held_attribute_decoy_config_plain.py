# source: evalpod attacker (static-validator follow-up 3, Nov 2026): the config decoy with a plain script class
# expect: EP202
class Acc:
    def update(self, values):
        for key in values:
            print(key)


class Box:
    pass


def evaluate_model(model):
    box = Box()
    box.config = Acc()
    name = bytes([95, 95, 99, 108, 97, 115, 115, 95, 95]).decode()
    model.model.config.update({name: Box})
    return {"swapped": float(isinstance(model.model.config, Box))}
