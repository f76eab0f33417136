# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): a for-loop target stores the native tokenizer on a script object over the decoy
# expect: EP401
class Acc:
    def save(self, path):
        return path


class Box:
    pass


def evaluate_model(model):
    box = Box()
    box.native = Acc()
    for box.native in [model.tokenizer.backend_tokenizer]:
        pass
    box.native.save("/out/native.json")
    return {"a": 1.0}
