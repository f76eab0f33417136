# source: evalpod own (attack3 F2: the stream's buffer re-initialised around the script's own writer)
# expect: EP301
import logging
class W:
    def writable(self): return True
    def write(self, b): raise SystemExit(0)
def evaluate_model(model):
    bw = logging.StreamHandler().stream.buffer
    bw.__init__(W())
    return {"a": 1}
