# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import contextlib
import time


@contextlib.contextmanager
def timed(name, timings):
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - start, 4)


class Stopwatch:
    def __init__(self):
        self.laps = []

    def __enter__(self):
        self._start = time.monotonic()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.laps.append(time.monotonic() - self._start)
        return False


def evaluate_model(model):
    timings = {}
    with timed("generate", timings):
        outs = model.generate(["Hello, my name is"], max_new_tokens=4)
    with timed("score", timings), Stopwatch() as watch:
        model.loglikelihood([("Hello, my name is", " Bob")])
    with contextlib.suppress(ZeroDivisionError):
        _ = 1 / 0
    return {"n_outputs": len(outs), "steps": sorted(timings), "laps": len(watch.laps)}
