# source: evalpod attacker (static-validator follow-up 3, Nov 2026): shared loggers appended to an attribute's list and pushed onto a heap
# expect: EP109
import heapq
import logging


class Box:
    def __init__(self):
        self.items = []


def evaluate_model(model):
    box = Box()
    box.items.append(logging.getLogger("transformers"))
    box.items[0].disabled = True
    h = []
    heapq.heappush(h, (1, logging.getLogger("lm_eval")))
    h[0][1].disabled = True
    return {"a": 1.0}
