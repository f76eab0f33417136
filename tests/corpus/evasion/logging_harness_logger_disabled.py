# source: evalpod own (validator follow-up: logging objects a call hands out, changed past EP109)
# expect: EP109
import logging


def evaluate_model(model):
    for name in ("lm_eval.models.huggingface", "transformers"):
        logging.getLogger(name).disabled = True
    return {"accuracy": 1.0}
