# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): a tqdm bar's fp keeps the stream it writes to
# expect: EP104
import sys

import tqdm


def evaluate_model(model):
    bar = tqdm.tqdm(total=1, file=sys.stderr)
    raw = bar.fp.buffer.raw
    return {"fd": float(raw.fileno())}
