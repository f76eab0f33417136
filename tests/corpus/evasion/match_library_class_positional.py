# source: evalpod own (attacker report #2 variant: positional sub-patterns read a library
# class's __match_args__, unknown to the analysis)
# expect: EP202
import logging


def evaluate_model(model):
    match logging.getLogger():
        case logging.Logger(name):
            pass
    return {"n": float(len(name))}
