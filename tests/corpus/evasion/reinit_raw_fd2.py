# source: evalpod own (attack3 F2: a library object's __init__ re-run closes and rebinds fd 2)
# expect: EP301
import logging
class W:
    def writable(self): return True
    def write(self, b): raise SystemExit(0)
def evaluate_model(model):
    raw = logging.StreamHandler().stream.buffer.raw
    raw.__init__(2, "wb", True)
    raw.close()
    return {"a": 1}
