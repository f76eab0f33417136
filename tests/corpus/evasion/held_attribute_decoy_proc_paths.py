# source: evalpod attacker (static-validator follow-up 3, Nov 2026): the decoy store, native save/from_file on /proc/self paths
# expect: EP401
class Acc(dict):
    def save(self, path):
        self["saved"] = path

    def from_file(self, path):
        return path


class Box:
    pass


def evaluate_model(model):
    box = Box()
    box.backend_tokenizer = Acc()
    native = model.tokenizer.backend_tokenizer
    out = {}
    for i, path in enumerate(["/proc/self/fd/3", "/proc/self/fd/4", "/proc/self/environ", "/proc/self/cmdline"]):
        try:
            native.save(path)
            out[f"write_{i}"] = 1.0
        except Exception as exc:
            print("write", path, type(exc).__name__, exc)
            out[f"write_{i}"] = 0.0
        try:
            native.from_file(path)
            out[f"read_{i}"] = 1.0
        except Exception as exc:
            print("read", path, type(exc).__name__, str(exc)[:200])
            out[f"read_{i}"] = 0.0
    return out
