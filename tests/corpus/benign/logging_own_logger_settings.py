# source: evalpod own (validator follow-up: ordinary logging next to the logging-object rule, the script's own loggers configured)
# expect: accept
import logging
import sys

logger = logging.getLogger(__name__)


class Scorer:
    log = logging.getLogger("eval.scorer")

    def __init__(self):
        self.details = logging.getLogger("eval.details")
        self.details.propagate = False
        self.details.handlers.clear()
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
        handler.level = logging.DEBUG
        self.details.addHandler(handler)

    def score(self, outputs):
        self.log.debug("scoring %d outputs", len(outputs))
        for i, out in enumerate(outputs):
            self.details.info("%d: %r", i, out)
        return sum(len(o) for o in outputs) / max(len(outputs), 1)


def evaluate_model(model):
    logging.getLogger(__name__).setLevel(logging.INFO)
    logger.propagate = True
    logger.info("start")
    outputs = model.generate(["Hello", "The sky is"], max_new_tokens=4)
    mean = Scorer().score(outputs)
    logging.getLogger("eval.summary").info("mean %.2f", mean)
    return {"mean_len": float(mean)}
