# source: evalpod attacker (static-validator follow-up 3, Nov 2026): the decoy store with a plain (not dict) script class
# expect: EP401
class Acc:
    def save(self, path):
        return path

    def from_file(self, path):
        return path


class Box:
    pass


def evaluate_model(model):
    box = Box()
    box.backend_tokenizer = Acc()
    native = model.tokenizer.backend_tokenizer
    native.save("native_written.json")
    again = native.from_file("native_written.json")
    out = {"roundtrip_vocab": float(again.get_vocab_size())}
    try:
        native.save("/out/native.json")
        out["out_write"] = 1.0
    except Exception as exc:
        print("out write:", type(exc).__name__, exc)
        out["out_write"] = 0.0
    try:
        native.from_file("/job/spec.json")
        out["job_read"] = 1.0
    except Exception as exc:
        print("job read:", type(exc).__name__, exc)
        out["job_read"] = 0.0
    return out
