# source: evalpod own (static-validator follow-up 3: what the held-attribute, stream-layer and filled-container rules still accept)
# expect: accept
import contextlib
import logging
import sys


class Capture:
    def __init__(self):
        self.buffer = []

    def write(self, text):
        self.buffer.append(text)
        return len(text)

    def flush(self):
        return None


class Store:
    def __init__(self):
        self.rows = {}

    def save(self, key, value):
        self.rows[key] = value

    def update(self, values):
        for key in values:
            self.rows[str(key)] = values[key]


class Runner:
    def __init__(self):
        self.store = Store()
        self.log = logging.getLogger("eval.runner")

    def record(self, key, value):
        self.store.save(key, value)
        self.store.update({key: value})


def evaluate_model(model):
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger("eval.runner").addHandler(handler)
    runner = Runner()
    capture = Capture()
    with contextlib.redirect_stdout(capture):
        print("quiet")
    with contextlib.redirect_stdout(Capture()) as out:
        print("kept")
    out.write("kept too")
    runner.record("captured", float(len(capture.buffer)))
    own = [logging.getLogger("eval.details")]
    own[0].info("items %d", len(runner.store.rows))
    runner.log.propagate = False
    return {"rows": float(len(runner.store.rows))}
