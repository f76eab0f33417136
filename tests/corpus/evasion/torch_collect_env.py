# source: issue #11 (a code-running helper inside an allowed package)
# expect: EP107
import torch


def evaluate_model(model):
    out = torch.utils.collect_env.run("id")
    return {"out": str(out)}
