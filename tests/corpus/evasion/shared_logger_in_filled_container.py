# source: evalpod attacker (static-validator follow-up 3, Nov 2026): shared loggers kept in a list filled by append and in an attribute set by setattr
# expect: EP109
import logging


class Box:
    pass


def evaluate_model(model):
    items = []
    items.append(logging.getLogger())
    items[0].manager.disable = 99
    box = Box()
    setattr(box, "lg", logging.getLogger("lm_eval"))
    box.lg.disabled = True
    return {"transformers_critical_enabled": float(logging.getLogger("transformers").isEnabledFor(50)),
            "lm_eval_disabled": float(logging.getLogger("lm_eval").disabled)}
