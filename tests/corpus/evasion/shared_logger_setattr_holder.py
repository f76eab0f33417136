# source: evalpod own (static-validator follow-up 3: variants of the attacker's classes): a runtime logger kept on a script object by setattr, then changed through it in a method
# expect: EP109
import logging


class Box:
    def silence(self):
        self.lg.disabled = True


def evaluate_model(model):
    box = Box()
    setattr(box, "lg", logging.getLogger("transformers"))
    box.silence()
    return {"a": 1.0}
