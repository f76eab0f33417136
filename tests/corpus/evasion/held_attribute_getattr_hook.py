# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): a script holder whose __getattr__ hands out the native tokenizer for an attribute never stored on it
# expect: EP401
HELD = []


class Acc:
    def save(self, path):
        return path


class Box:
    def __getattr__(self, name):
        return HELD[0]


def evaluate_model(model):
    HELD.append(model.tokenizer.backend_tokenizer)
    Box().native = Acc()
    holder = Box()
    holder.native.save("/out/native.json")
    return {"a": 1.0}
