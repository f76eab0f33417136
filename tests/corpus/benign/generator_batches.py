# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import itertools
from collections.abc import Iterator


def chunks(iterable, size):
    it = iter(iterable)
    while True:
        batch = list(itertools.islice(it, size))
        if not batch:
            return
        yield batch


def prompts() -> Iterator[str]:
    yield from (f"Count: {i}, {i + 1}," for i in range(5))
    yield "Count: 10, 11,"


def running_mean():
    total, count = 0.0, 0
    value = yield None
    while value is not None:
        total += value
        count += 1
        value = yield total / count


def evaluate_model(model):
    averager = running_mean()
    next(averager)
    mean = 0.0
    n_batches = 0
    for batch in chunks(prompts(), 4):
        n_batches += 1
        lengths = (len(out) for out in model.generate(batch, max_new_tokens=3))
        for length in lengths:
            mean = averager.send(float(length))
    evens = list(itertools.takewhile(lambda x: x < 10, itertools.count(0, 2)))
    return {"mean_len": mean, "batches": n_batches, "evens": evens}
