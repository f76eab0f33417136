# source: evalpod own (attacker report #2, r1: a script class made to hand out the fast
# tokenizer backend, whose save/from_file write and read files)
# expect: EP301
class Native:
    def save(self, path):
        return path


def evaluate_model(model):
    setattr(Native, "__new__", staticmethod(lambda cls: model.tokenizer.backend_tokenizer))
    Native().save("/out/native.json")
    return {"a": 1.0}
