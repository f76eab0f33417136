# source: evalpod attacker (static-validator follow-up 3, Nov 2026): setattr with a literal name stores a foreign object over the decoy
# expect: EP401
class Acc(dict):
    def save(self, path):
        self["saved"] = path


class Box:
    pass


def evaluate_model(model):
    box = Box()
    box.backend_tokenizer = Acc()
    setattr(box, "backend_tokenizer", model.tokenizer.backend_tokenizer)
    box.backend_tokenizer.save("/out/x.json")
    return {"a": 1.0}
