# source: evalpod own (corpus before #11)
# expect: accept
import contextlib
import copy
import warnings


@contextlib.contextmanager
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


DEFAULTS = {"max_new_tokens": 4, "prompts": ["Hi", "Hello"]}


def evaluate_model(model):
    config = copy.deepcopy(DEFAULTS)
    with quiet():
        outs = model.generate(config["prompts"], max_new_tokens=config["max_new_tokens"])
    return {"n_outputs": len(outs), "device": str(model.device)}
