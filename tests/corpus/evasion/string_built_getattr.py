# source: evalpod own (corpus before #11)
# expect: EP107
import json


def evaluate_model(model):
    name = "sys" + "tem"
    fn = getattr(json, name)
    return {"x": fn("id")}
