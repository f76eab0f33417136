# source: evalpod own (attack2 F1 /tmp/a2/x4.py: type(x)(...) opens files as io.FileIO)
# expect: EP208
KEEP = []


def _opener(stream):
    return type(getattr(stream, "raw", stream))


def evaluate_model(model, stream=None):
    FileIO = _opener(stream)
    KEEP.append(FileIO("/dev/" + "null", "wb"))
    return {}
