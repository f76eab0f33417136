# source: evalpod own (validator follow-up: a log helper whose stream parameter defaults to sys.stderr, refused by EP104)
# expect: accept
import logging
import sys


def log(msg, stream=sys.stderr):
    print(msg, file=stream)


def progress(done, total, *, out=sys.stdout):
    out.write(f"{done}/{total}\n")
    out.flush()


class Report:
    def __init__(self, scores):
        self.scores = scores

    def show(self, stream=sys.stderr):
        for name, value in sorted(self.scores.items()):
            print(f"{name:>10}: {value:.3f}", file=stream)
        if stream.isatty():
            print("-" * 20, file=stream)


def make_logger(name, stream=sys.stderr):
    logger = logging.getLogger(name)
    logger.addHandler(logging.StreamHandler(stream))
    return logger


def evaluate_model(model):
    log("start")
    prompts = ["The capital of France is", "Two plus two is"]
    outputs = model.generate(prompts, max_new_tokens=4)
    scores = {}
    for i, (prompt, out) in enumerate(zip(prompts, outputs, strict=True)):
        scores[f"len_{i}"] = float(len(out))
        progress(i + 1, len(prompts))
    Report(scores).show()
    make_logger("eval").warning("done")
    summary(scores, sys.stdout)
    return scores


def summary(scores, stream=sys.stderr):
    for name, value in scores.items():
        log(f"{name}={value}", stream)
    log("end", stream=sys.stdout)
