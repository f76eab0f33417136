# source: evalpod own (#11 follow-up: ordinary evaluation code, false-positive class)
# expect: accept
import logging

logger = logging.getLogger(__name__)

PROMPTS = ["Translate to French: cat", "Translate to French: dog", "Translate to French: house"]


def evaluate_model(model):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logger.setLevel(logging.DEBUG)
    logger.info("evaluating %d prompts", len(PROMPTS))
    lengths = []
    for i, prompt in enumerate(PROMPTS):
        out = model.generate([prompt], max_new_tokens=4)[0]
        lengths.append(len(out))
        logger.debug("prompt %d -> %r", i, out)
    if not all(lengths):
        logger.warning("some outputs were empty")
    try:
        ratio = sum(lengths) / len([n for n in lengths if n > 100])
    except ZeroDivisionError:
        logger.exception("no long outputs")
        ratio = 0.0
    logging.getLogger("eval.summary").info("done")
    return {"mean_len": sum(lengths) / len(lengths), "long_ratio": ratio}
